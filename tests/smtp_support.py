"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import email
import email.policy
import socket
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"


class Inbox:
    """What the server received: one parsed message per delivery, with its envelope."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def body(self, index: int = 0) -> str:
        """The text of a message's HTML part."""
        part = self.messages[index].get_body(("html", "plain"))
        return part.get_content()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server():
    """Yield ``(inbox, settings)``: the inbox and the LIBCRM_* variables that send alerts to it."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield (
            inbox,
            {
                "LIBCRM_ALERT_TO": "oncall@library.example.edu, data@library.example.edu",
                "LIBCRM_ALERT_FROM": "libcrm@library.example.edu",
                "LIBCRM_SMTP_HOST": LOOPBACK,
                "LIBCRM_SMTP_PORT": str(port),
                "LIBCRM_SMTP_TLS": "none",
            },
        )
    finally:
        controller.stop()
