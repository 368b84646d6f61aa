"""Every setting libcrm reads from its environment, declared once with its type and default.

Nothing else in the product reads the environment: modules call :func:`load` and read the
attribute they need. Variables of other programs (``AIRFLOW_HOME``, ``OPENBLAS_NUM_THREADS``)
are read where those programs need them; :data:`OTHER_PROGRAMS` says where and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Run from a checkout (or an editable install of one), the package has the dbt project and the
# DAG beside it; installed into site-packages it has neither, and no folder of its own to write.
CHECKOUT = (PROJECT_ROOT / "dbt_project" / "dbt_project.yml").is_file()
# The folder that holds the defaults outside a checkout: the user's data folder, the same in
# every process whatever its working folder, so every task of a night finds the same key.
USER_DATA = Path.home() / ".local" / "share" / "libcrm"
PREFIX = "LIBCRM_"

# Variables that belong to other programs, read where those programs need them.
OTHER_PROGRAMS = {
    "AIRFLOW_HOME": "Airflow's home; read by Airflow, and by the demo to give Airflow a default",
    "OPENBLAS_NUM_THREADS": "OpenBLAS's thread count; recsys sets it to 1 unless it is set",
}


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message says which and how to fix it."""


class AlertSettings(BaseSettings):
    """Who is told when a night goes wrong, and through which mail server.

    :class:`Settings` holds these too; they are also read on their own (:func:`load_alerts`)
    so that a night failed by another unusable setting is still e-mailed.
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    alert_to: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="e-mail addresses (comma-separated) told of a failed night, a critical "
        "validation or a stale source; unset: no e-mail is sent",
    )
    alert_from: str = Field(
        default="libcrm@localhost", description="the sender of the alert e-mails"
    )
    smtp_host: str = Field(default="localhost", description="the SMTP server alerts go through")
    smtp_port: int = Field(default=587, description="the SMTP server's port")
    smtp_tls: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="how the SMTP connection is encrypted: STARTTLS, TLS from the start "
        "(ssl, usually port 465) or none (a relay on the same host only)",
    )
    smtp_user: str | None = Field(
        default=None, description="the SMTP login, when the server requires one"
    )
    smtp_password: SecretStr | None = Field(
        default=None, description="the password of LIBCRM_SMTP_USER"
    )

    @field_validator("required_sources", "alert_to", mode="before", check_fields=False)
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value


class Settings(AlertSettings):
    """Where libcrm reads from and writes to, and the limits it applies."""

    # Folders that default to a subfolder of the state folder, by field.
    STATE_FOLDERS: ClassVar[dict[str, str]] = {
        "data_docs_dir": "data_docs",
        "reports_dir": "reports",
    }

    database_url: str | None = Field(
        default=None,
        description="the warehouse, postgresql://user:password@host:port/db; "
        "unset: the URL the demo recorded in the state folder",
    )
    landing_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "landing" if CHECKOUT else USER_DATA / "landing",
        description="where source exports arrive (<source>/<YYYY-MM-DD>/); "
        "outside a checkout, by default ~/.local/share/libcrm/landing",
    )
    required_sources: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="sources (comma-separated) whose missing export fails the day",
    )
    export_mapping: Path | None = Field(
        default=None,
        description="YAML file mapping the library's own exports (file names, encodings, "
        "delimiters, headers, codes, date formats, vocabulary additions) to the documented "
        "formats; unset: exports are as documented",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None, description="secret for keyed pseudonyms (at least 32 bytes)"
    )
    pseudonym_key_file: Path | None = Field(
        default=None,
        description="file holding the pseudonym key; unset: the demo's key in the state folder",
    )
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".local" if CHECKOUT else USER_DATA,
        description="where the demo keeps its files: embedded PostgreSQL, URL, key, logs; "
        "outside a checkout (an installed package), by default ~/.local/share/libcrm",
    )
    dbt_project_dir: Path | None = Field(
        default=PROJECT_ROOT / "dbt_project" if CHECKOUT else None,
        description="the dbt project the transform builds; by default dbt_project/ of the "
        "checkout, required for an installed package (which does not include it)",
    )
    data_docs_dir: Path | None = Field(
        default=None, description="where Great Expectations Data Docs are built"
    )
    reports_dir: Path | None = Field(
        default=None, description="where the nightly HTML report is written (<day>/index.html)"
    )
    # One academic year of linked loan history: enough for segments and recommendations that
    # look back a year, short enough that old reading is no longer tied to a person.
    loan_link_days: int = Field(
        default=365,
        description="days after return, close or decision before a loan, hold or purchase "
        "request loses its patron link in raw",
    )
    # Three months of raw passages: visits are built within days; the rest is only kept for
    # re-running recent nights.
    gate_passage_days: int = Field(
        default=90, description="days raw gate passages are kept once visits are built"
    )
    workspace_host: str = Field(
        default="127.0.0.1",
        description="address the workspace listens on (0.0.0.0 only behind a proxy with HTTPS)",
    )
    workspace_port: int = Field(default=8080, description="port the workspace listens on")
    workspace_https: bool = Field(
        default=False,
        description="true when the workspace is reached over HTTPS: cookies are sent only so",
    )
    # Weekly by default: a selection fits every candidate (about ten models), which on a large
    # library costs several times the night's own training; the other nights re-check the
    # week's choice against the most-borrowed list.
    model_selection: Literal["nightly", "weekly"] = Field(
        default="weekly",
        description="when the recommender candidates are scored and the best chosen: every "
        "night, or once a week (other nights keep the week's choice unless it loses to the "
        "most-borrowed list)",
    )
    ils_token: SecretStr | None = Field(
        default=None, description="token for the ILS REST API (sent as X-Okapi-Token)"
    )
    ils_source: Literal["files", "api"] = Field(
        default="files",
        description="where the nightly ILS load reads from: the landing folder's exports "
        "(files) or the FOLIO API (api, which first writes the day's files from the API)",
    )
    ils_api_url: str | None = Field(
        default=None,
        description="the FOLIO (Okapi) root URL, e.g. https://okapi.example.edu; "
        "required when LIBCRM_ILS_SOURCE=api",
    )
    ils_tenant: str | None = Field(
        default=None,
        description="the FOLIO tenant, sent as X-Okapi-Tenant; required when LIBCRM_ILS_SOURCE=api",
    )
    ils_username: str | None = Field(
        default=None,
        description="the FOLIO user libcrm logs in as (with LIBCRM_ILS_PASSWORD); its "
        "token is renewed when it expires",
    )
    ils_password: SecretStr | None = Field(
        default=None, description="the password of LIBCRM_ILS_USERNAME"
    )

    @model_validator(mode="after")
    def _folders_in_state_dir(self):
        for name, folder in self.STATE_FOLDERS.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.state_dir / folder)
        return self


def variable(field: str) -> str:
    """The environment variable of a field: ``loan_link_days`` -> ``LIBCRM_LOAN_LINK_DAYS``."""
    return PREFIX + field.upper()


VARIABLES = tuple(variable(field) for field in Settings.model_fields)
# Fields whose value never appears in a message.
SECRETS = frozenset(
    name for name, info in Settings.model_fields.items() if SecretStr in get_args(info.annotation)
)

# What a value of each kind must be, for the message when it is not.
EXPECTED = {
    "int": "a whole number",
    "bool": "true or false",
    "path": "a path",
    "frozenset": "a comma-separated list",
    "literal": "one of the values listed in the README",
}


def load() -> Settings:
    """Read the settings from the environment now (a fresh object on each call).

    Raises
    ------
    ConfigError
        One message naming every variable whose value is unusable, and how to fix it.
    """
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError("; ".join(_problem(e) for e in error.errors())) from None


def load_alerts() -> AlertSettings:
    """Read only the alert settings (``LIBCRM_ALERT_*``, ``LIBCRM_SMTP_*``), whatever the others
    hold.

    Raises
    ------
    ConfigError
        One message naming every alert variable whose value is unusable.
    """
    try:
        return AlertSettings()
    except ValidationError as error:
        raise ConfigError("; ".join(_problem(e) for e in error.errors())) from None


def _problem(error: dict) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    shown = "(hidden)" if field in SECRETS else repr(error.get("input"))
    kind = error["type"].partition("_")[0]
    expected = EXPECTED.get(kind, "a usable value")
    default = Settings.model_fields[field].default if field in Settings.model_fields else None
    fix = f"unset it for the default {default}" if default not in (None, frozenset()) else ""
    return (
        f"{variable(field)}={shown} is not {expected}: {error['msg']}; "
        f"set it to {expected}{' or ' + fix if fix else ''}"
    )
