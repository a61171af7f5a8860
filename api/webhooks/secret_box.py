"""Webhook signing secrets at rest: encrypted with keys from the environment.

``PHENOWATCH_SECRET_KEYS`` holds one or more Fernet keys (``cryptography``), comma-separated,
newest first. A secret is stored as ``fernet:<token>`` made with the newest key; any listed key
opens it. At start-up the service re-encrypts every stored secret that is not yet under the
newest key (also the plaintext ones of a database from before encryption), so rotating is:
put a new key in front, restart, then drop the old key once it has started.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.webhooks import WebhookEndpoint

log = logging.getLogger(__name__)
PREFIX = "fernet:"


class SecretKeyMissing(RuntimeError):
    """A secret must be sealed or opened but no key is configured, or none opens it."""


class SecretBox:
    """Seals and opens endpoint secrets with the configured keys (none: only plaintext rows
    from before encryption can be read, and nothing new can be sealed)."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._keys = [Fernet(key.strip().encode()) for key in keys if key.strip()]
        self._fernet = MultiFernet(self._keys) if self._keys else None

    @classmethod
    def from_setting(cls, value: str | None) -> SecretBox:
        """From ``PHENOWATCH_SECRET_KEYS``: comma-separated keys, newest first."""
        return cls((value or "").split(","))

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode("ascii")

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            raise SecretKeyMissing(
                "webhook secrets are stored encrypted: set PHENOWATCH_SECRET_KEYS "
                "(generate a key with `phenowatch admin new-secret-key`)"
            )
        return PREFIX + self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before secrets were encrypted; sealed at the next start
        if self._fernet is None:
            raise SecretKeyMissing("a webhook secret is encrypted but no key is configured")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as error:
            raise SecretKeyMissing("no configured key opens a stored webhook secret") from error

    def is_current(self, stored: str) -> bool:
        """True when ``stored`` is sealed with the newest key."""
        if self._fernet is None or not stored.startswith(PREFIX):
            return False
        try:
            self._keys[0].decrypt(stored[len(PREFIX) :].encode())
        except InvalidToken:
            return False
        return True


def reseal_secrets(session: Session, box: SecretBox) -> int:
    """Seals every endpoint secret that is plaintext or under an older key with the newest
    key; returns how many were changed. Does nothing without keys."""
    if not box.configured:
        return 0
    changed = 0
    for endpoint in session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)):
        if box.is_current(endpoint.secret):
            continue
        try:
            endpoint.secret = box.seal(box.open(endpoint.secret))
        except SecretKeyMissing:
            # its deliveries fail with "not sent" until the key that sealed it is listed
            log.error("webhook endpoint %s: no configured key opens its secret", endpoint.id)
            continue
        changed += 1
    session.flush()
    return changed
