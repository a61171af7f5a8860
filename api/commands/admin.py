"""`phenowatch admin ...`: care teams, coordinators, patients, memberships and tokens from the
command line (the database named by PHENOWATCH_DATABASE_URL, migrated first)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from api.clock import SystemClock
from api.db import make_engine, make_session_factory, transaction
from api.migrations import upgrade
from api.services import patients, tokens
from api.services.errors import ServiceError
from api.settings import Settings

T = TypeVar("T")
admin = typer.Typer(
    help="Manage care teams, coordinators, patients and tokens.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(admin, name="admin")


def _run(work: Callable[[Session], T]) -> T:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            return work(session)
    except ServiceError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()


def _now() -> datetime:
    return SystemClock().now()


@admin.command("create-team")
def create_team(name: Annotated[str, typer.Argument(help="the team's name")]) -> None:
    team = _run(lambda s: patients.create_team(s, name=name, now=_now()))
    typer.echo(f"team {team.id}: {team.name}")


@admin.command("create-coordinator")
def create_coordinator(
    email: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="display name")] = "",
    team: Annotated[int | None, typer.Option(help="add to this team id")] = None,
    admin_role: Annotated[
        bool, typer.Option("--admin", help="an admin, not a coordinator")
    ] = False,
) -> None:
    def work(session: Session) -> int:
        user = patients.create_user(
            session,
            email=email,
            name=name or email,
            role="admin" if admin_role else "coordinator",
            now=_now(),
        )
        if team is not None:
            patients.add_member(session, user_id=user.id, team_id=team, now=_now())
        return user.id

    typer.echo(f"user {_run(work)}: {email}")


@admin.command("add-member")
def add_member(
    user_id: Annotated[int, typer.Argument()], team_id: Annotated[int, typer.Argument()]
) -> None:
    _run(lambda s: patients.add_member(s, user_id=user_id, team_id=team_id, now=_now()))
    typer.echo(f"user {user_id} is in team {team_id}")


@admin.command("create-patient")
def create_patient(
    patient_id: Annotated[str, typer.Argument(help="an opaque id, never a name")],
    team: Annotated[int, typer.Option(help="the care team id")],
) -> None:
    _run(lambda s: patients.create_patient(s, patient_id=patient_id, team_id=team, now=_now()))
    typer.echo(f"patient {patient_id} in team {team}")


@admin.command("create-token")
def create_token(
    user: Annotated[int | None, typer.Option(help="a coordinator's or admin's user id")] = None,
    patient: Annotated[str | None, typer.Option(help="a patient id")] = None,
    label: Annotated[str, typer.Option()] = "",
) -> None:
    """Prints the token once; only its sha256 is stored."""
    _, secret = _run(
        lambda s: tokens.issue_token(s, now=_now(), user_id=user, patient_id=patient, label=label)
    )
    typer.echo(secret)


@admin.command("sign-in-link")
def sign_in_link(
    user: Annotated[int, typer.Argument(help="a coordinator's user id")],
    url: Annotated[
        str, typer.Option(help="the inbox's base URL (default: PHENOWATCH_PUBLIC_URL)")
    ] = "",
) -> None:
    """Prints a link that signs the coordinator in to the web inbox once, within
    PHENOWATCH_SIGN_IN_LINK_MINUTES (15 by default); only its sha256 is stored."""
    from api.web.sessions import make_sign_in_link, sign_in_url

    settings = Settings.from_env()
    secret = _run(
        lambda s: make_sign_in_link(
            s, user_id=user, now=_now(), minutes=settings.sign_in_link_minutes
        )
    )
    typer.echo(sign_in_url(url or settings.public_url or "http://127.0.0.1:8000", secret))


@admin.command("new-secret-key")
def new_secret_key() -> None:
    """Print a fresh key for PHENOWATCH_SECRET_KEYS (webhook secrets are encrypted with it)."""
    from api.webhooks.secret_box import SecretBox  # only when it runs

    typer.echo(SecretBox.new_key())
