"""Send an alert through the SMTP provider's ``SmtpNotifier``, with the server from settings.

The provider reads its server from an Airflow connection; libcrm's SMTP settings are declared
once in :mod:`libcrm.settings`, so the hook below builds that connection from them instead of
asking Airflow for one (nothing to keep in step in Airflow's connection store). An alert is
never allowed to fail the night: no recipient means alerts are off (said once in the log), and
a server that refuses is logged.
"""

from __future__ import annotations

import functools
import json
import logging

from libcrm import settings
from libcrm.alerts.messages import Alert

log = logging.getLogger(__name__)
CONNECTION_ID = "libcrm_alerts"
TIMEOUT_SECONDS = 30
# Connection attempts after the first, on a dropped connection (the provider retries them).
RETRY_LIMIT = 2


@functools.cache
def _say_alerts_are_off() -> None:
    log.warning("no LIBCRM_ALERT_TO set: alerts are logged only, not e-mailed")


def _notifier(configured: settings.AlertSettings, alert: Alert):
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier
    from airflow.sdk import Connection

    class SettingsSmtpHook(SmtpHook):
        def get_connection(self, conn_id: str) -> Connection:
            password = configured.smtp_password
            return Connection(
                conn_id=conn_id,
                conn_type="smtp",
                host=configured.smtp_host,
                port=configured.smtp_port,
                login=configured.smtp_user,
                password=password.get_secret_value() if password else None,
                extra=json.dumps(
                    {
                        "from_email": configured.alert_from,
                        "disable_ssl": configured.smtp_tls != "ssl",
                        "disable_tls": configured.smtp_tls != "starttls",
                        "timeout": TIMEOUT_SECONDS,
                        "retry_limit": RETRY_LIMIT,
                    }
                ),
            )

    class SettingsSmtpNotifier(SmtpNotifier):
        @functools.cached_property
        def hook(self) -> SmtpHook:
            return SettingsSmtpHook(smtp_conn_id=CONNECTION_ID)

    return SettingsSmtpNotifier(
        to=sorted(configured.alert_to),
        from_email=configured.alert_from,
        subject=alert.subject,
        html_content=alert.html(),
        smtp_conn_id=CONNECTION_ID,
    )


def send(alert: Alert) -> bool:
    """E-mail ``alert`` to ``LIBCRM_ALERT_TO``; return whether it was sent.

    Never raises: the alert's subject is always logged, and a failure to send is logged with
    the server and the reason.
    """
    log.error("alert: %s", alert.subject)
    try:
        # Only the alert settings: another unusable one may be what failed the night.
        configured = settings.load_alerts()
    except settings.ConfigError as problem:
        log.error("alert not sent, the alert settings are unusable: %s", problem)
        return False
    if not configured.alert_to:
        _say_alerts_are_off()
        return False
    try:
        # Called directly rather than through __call__: the subject and body are final text
        # (an error message may hold "{{"), not templates to render.
        _notifier(configured, alert).notify({})
    except Exception as problem:  # noqa: BLE001 - an alert must never fail the night
        log.error(
            "could not e-mail the alert to %s through %s:%s (LIBCRM_SMTP_*): %s",
            ", ".join(sorted(configured.alert_to)),
            configured.smtp_host,
            configured.smtp_port,
            problem,
        )
        return False
    log.info("alert e-mailed to %s", ", ".join(sorted(configured.alert_to)))
    return True
