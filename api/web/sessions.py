"""Browser sessions of the web inbox: a coordinator signs in with their API token or a one-time
link and gets a session cookie; the session ends at sign-out or after inactivity.

Nothing here knows HTTP. Only sha256 digests of cookies and link secrets are stored; the
form token (CSRF) of a session is stored as it is, since it grants nothing without the cookie.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.services.errors import Forbidden, InvalidInput, NotFound
from api.services.tokens import Principal, authenticate, hash_secret
from api.store import ApiToken, SignInLink, User, WebSession

LINK_PREFIX = "pwl_"


@dataclass(frozen=True)
class SignedIn:
    """A live session: who it is, its form token, and the cookie value (only at sign-in)."""

    principal: Principal
    session_id: int
    csrf_token: str
    user_name: str
    cookie: str = ""


def sign_in_with_token(session: Session, *, secret: str, now: datetime) -> SignedIn:
    """A session for the coordinator whose API token this is; only coordinators sign in."""
    principal = authenticate(session, secret=secret.strip())
    if principal is None:
        raise InvalidInput("that token is not valid", field="token")
    return _open(session, principal, now)


def make_sign_in_link(session: Session, *, user_id: int, now: datetime, minutes: int) -> str:
    """A secret that signs the coordinator in once within ``minutes``; shown once."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    if user.role != "coordinator":
        raise InvalidInput("only coordinators sign in to the inbox", field="user_id")
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    session.add(
        SignInLink(
            secret_sha256=hash_secret(secret),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return secret


def sign_in_with_link(session: Session, *, secret: str, now: datetime) -> SignedIn:
    """Uses the link (once) and opens a session; a used, expired or unknown link is refused."""
    used = session.execute(
        update(SignInLink)
        .where(
            SignInLink.secret_sha256 == hash_secret(secret),
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInLink.user_id)
    ).scalar()
    if used is None:
        raise InvalidInput("this sign-in link is used, expired or unknown", field="link")
    role = session.scalar(select(User.role).where(User.id == used))
    return _open(session, Principal(role=role or "", user_id=used), now)


def resume(session: Session, *, cookie: str, now: datetime, idle: timedelta) -> SignedIn | None:
    """The session this cookie belongs to if it is still live (not ended, used within
    ``idle``, its token not revoked); marks it used now. None otherwise."""
    row = session.execute(
        select(WebSession, User.role, User.name)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.cookie_sha256 == hash_secret(cookie), WebSession.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    web, role, name = row
    if web.last_seen_at + idle < now:
        web.ended_at = web.last_seen_at + idle
        return None
    if web.token_id is not None:
        revoked = session.scalar(select(ApiToken.revoked_at).where(ApiToken.id == web.token_id))
        if revoked is not None:
            web.ended_at = now
            return None
    web.last_seen_at = now
    principal = Principal(role=role, token_id=web.token_id, user_id=web.user_id)
    return SignedIn(principal, web.id, web.csrf_token, name)


def end(session: Session, *, session_id: int, now: datetime) -> None:
    web = session.get(WebSession, session_id)
    if web is not None and web.ended_at is None:
        web.ended_at = now


def csrf_matches(signed_in: SignedIn, offered: str | None) -> bool:
    return offered is not None and hmac.compare_digest(signed_in.csrf_token, offered)


def _open(session: Session, principal: Principal, now: datetime) -> SignedIn:
    if principal.role != "coordinator" or principal.user_id is None:
        raise Forbidden("the inbox is for care coordinators")
    cookie = secrets.token_urlsafe(32)
    web = WebSession(
        cookie_sha256=hash_secret(cookie),
        user_id=principal.user_id,
        token_id=principal.token_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    session.add(web)
    session.flush()
    name = session.scalar(select(User.name).where(User.id == principal.user_id)) or ""
    return SignedIn(principal, web.id, web.csrf_token, name, cookie)


def sign_in_url(base_url: str, secret: str) -> str:
    """The link to hand out: the secret after '#', so browsers never send it to a server."""
    return f"{base_url.rstrip('/')}/inbox/sign-in#{secret}"
