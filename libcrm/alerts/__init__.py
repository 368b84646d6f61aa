"""Alerts a data engineer receives by e-mail: a failed task, a critical validation, a stale
source. ``messages`` says what each alert holds; ``mail`` sends it through Airflow's SMTP
notifier, configured by the ``LIBCRM_SMTP_*`` and ``LIBCRM_ALERT_*`` settings; ``quiet`` says
which stale sources the academic calendar excuses."""

from libcrm.alerts.mail import send
from libcrm.alerts.messages import Alert, failure_alert, stale_alert
from libcrm.alerts.quiet import excuse_quiet_tables
from libcrm.alerts.stale import notify_stale_sources

__all__ = [
    "Alert",
    "excuse_quiet_tables",
    "failure_alert",
    "notify_stale_sources",
    "send",
    "stale_alert",
]
