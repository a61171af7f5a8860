"""API tokens: issued once as a random secret, stored as its sha256, resolved to a Principal."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.errors import InvalidInput, NotFound
from api.store import ApiToken, Patient, User

TOKEN_PREFIX = "pw_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a patient (one patient's data), a coordinator or an admin."""

    role: str
    token_id: int | None = None
    user_id: int | None = None
    patient_id: str | None = None

    @property
    def actor(self) -> str:
        if self.role == "system":
            return "system"
        if self.role == "patient":
            return f"patient:{self.patient_id}"
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"token:{self.token_id}"


SYSTEM = Principal(role="system")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(
    session: Session,
    *,
    now: datetime,
    user_id: int | None = None,
    patient_id: str | None = None,
    label: str = "",
) -> tuple[ApiToken, str]:
    """A token for a user (their role) or for a patient; returns the row and the secret, which
    is never stored and cannot be shown again."""
    if (user_id is None) == (patient_id is None):
        raise InvalidInput("a token belongs to exactly one user or one patient", field="user_id")
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        role = user.role
    else:
        if session.get(Patient, patient_id) is None:
            raise NotFound(f"no patient {patient_id!r}")
        role = "patient"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_sha256=hash_secret(secret),
        role=role,
        user_id=user_id,
        patient_id=patient_id,
        label=label,
        created_at=now,
    )
    session.add(token)
    session.flush()
    return token, secret


def ensure_token(session: Session, *, secret: str, role: str, now: datetime) -> None:
    """Registers a known secret (the bootstrap admin token) once, for a built-in admin user."""
    digest = hash_secret(secret)
    if session.scalar(select(ApiToken.id).where(ApiToken.token_sha256 == digest)) is not None:
        return
    email = "bootstrap-admin@phenowatch.invalid"
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name="bootstrap admin", role=role, created_at=now)
        session.add(user)
        session.flush()
    session.add(
        ApiToken(token_sha256=digest, role=role, user_id=user.id, label="bootstrap", created_at=now)
    )
    session.flush()


@dataclass(frozen=True)
class Identity:
    """Whose token a secret is, and whether it was revoked."""

    principal: Principal
    revoked: bool


def identify(session: Session, *, secret: str) -> Identity | None:
    """The token's owner, revoked or not (a revoked token's use is recorded as its owner's);
    None for a secret phenowatch never issued."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == hash_secret(secret)))
    if token is None:
        return None
    principal = Principal(
        role=token.role, token_id=token.id, user_id=token.user_id, patient_id=token.patient_id
    )
    return Identity(principal, revoked=token.revoked_at is not None)


def authenticate(session: Session, *, secret: str) -> Principal | None:
    """The caller a valid (issued, not revoked) secret stands for."""
    identity = identify(session, secret=secret)
    return None if identity is None or identity.revoked else identity.principal


def revoke_token(session: Session, *, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    token.revoked_at = token.revoked_at or now
    return token
