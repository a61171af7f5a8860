"""The one settings class. Read from ``PHENOWATCH_*`` environment variables by the app factory
and the command line; never at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

PREFIX = "PHENOWATCH_"
DEFAULT_DATABASE_URL = "sqlite:///./var/phenowatch.sqlite"
#: values people paste from examples; a secret that looks like one of these is refused
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "changethis", "secret", "password", "admin", "token", "xxx", "todo"}
)
MIN_SECRET_LENGTH = 32


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    database_url: str = DEFAULT_DATABASE_URL
    #: migrate the database to the newest revision when the service starts
    migrate_on_start: bool = True
    #: where uploaded bytes wait for a worker (shared storage when workers run elsewhere)
    spool_dir: Path = Path("./var/uploads")
    upload_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    #: a worker that holds an upload longer than this is presumed dead; the upload is retried
    upload_lease_seconds: int = Field(default=600, gt=0)
    upload_max_attempts: int = Field(default=3, gt=0)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    detection_interval_seconds: int = Field(default=60, gt=0)
    #: hour (UTC) of the nightly detection run over every patient
    nightly_detection_hour: int = Field(default=3, ge=0, le=23)
    escalation_interval_seconds: int = Field(default=60, gt=0)
    #: an urgent alert nobody acknowledged within this many minutes is escalated
    escalate_after_minutes: int = Field(default=30, gt=0)
    webhook_delivery_interval_seconds: int = Field(default=5, gt=0)
    leader_retry_seconds: int = Field(default=15, gt=0)
    #: the service's external base URL, used for links in webhook payloads
    public_url: str = ""
    #: for tests and development only: let webhook endpoints be plain http:// and resolve to
    #: loopback, private, link-local or other non-public addresses (refused otherwise)
    webhook_allow_private: bool = False
    #: Fernet keys (comma-separated, newest first) that encrypt webhook secrets at rest
    secret_keys: str | None = Field(default=None, repr=False)
    #: webhook endpoints a care team may register (each one is sent every alert change)
    webhook_max_endpoints: int = Field(default=10, gt=0)
    #: run the periodic jobs in this process (exactly one replica does, see scheduler)
    run_scheduler: bool = True
    #: run an upload worker thread in this process
    run_worker: bool = True
    #: a web inbox session ends after this many minutes without a request
    web_session_idle_minutes: int = Field(default=30, gt=0)
    #: a one-time sign-in link (``phenowatch admin sign-in-link``) works this long
    sign_in_link_minutes: int = Field(default=15, gt=0)
    #: optional admin token accepted at start-up (to bootstrap a fresh deployment)
    bootstrap_admin_token: str | None = None
    #: a token for Prometheus scrapes of /metrics (an admin's API token works too)
    metrics_token: str | None = None
    #: failed authentications allowed per client address and minute before 429s
    auth_failures_per_minute: int = Field(default=20, gt=0)

    @field_validator("bootstrap_admin_token", "metrics_token")
    @classmethod
    def _refuse_placeholder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"refusing a placeholder or short secret: use at least {MIN_SECRET_LENGTH} "
                "random characters (python -c 'import secrets; print(secrets.token_urlsafe())')"
            )
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = environ.get(PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update(overrides)
        return cls.model_validate(values)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
