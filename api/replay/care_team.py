"""The replay's care-team policy: what the coordinators do with the alerts nobody answers.

In the service a coordinator acknowledges an alert and resolves it with a note, and only then
can a later change of the same kind open a new alert (one active alert per patient and kind).
A replay has no coordinators, so without a policy a patient's first alert of a kind stays open
for the whole replay and every later episode of that kind only fires it again.

With ``resolve_after`` days, at the end of each simulated day (after the detection job) the
replay's care team resolves every open or acknowledged alert that first fired that many days
ago or more, through the function POST /v1/alerts/{id}/resolve calls, so alert events and the
webhook outbox record it as they would a coordinator's. The care team is a coordinator of the
replay's team, ``CARE_TEAM_EMAIL``; its resolutions carry the actor ``user:<its id>`` and the
note ``resolution_note(days)``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import patients
from api.services.alerts import resolve, visible_alerts
from api.services.tokens import Principal
from api.store import Alert, CareTeam, Membership, User
from api.store.alerts import ACTIVE_STATUSES
from api.unit_of_work import UnitOfWork

#: alerts are resolved this many days after they first fired unless the replay says otherwise
DEFAULT_RESOLVE_AFTER = 7
CARE_TEAM_EMAIL = "replay-care-team@phenowatch.invalid"
CARE_TEAM_NAME = "replay-care-team"


def resolution_note(days: int) -> str:
    return f"resolved by the replay's care-team policy after {days} days"


def care_team(session: Session, *, team_name: str, now: datetime) -> Principal:
    """The coordinator who follows the policy, a member of the replay's team (created once)."""
    user = session.scalar(select(User).where(User.email == CARE_TEAM_EMAIL))
    if user is None:
        user = patients.create_user(
            session, email=CARE_TEAM_EMAIL, name=CARE_TEAM_NAME, role="coordinator", now=now
        )
    team = session.scalar(select(CareTeam).where(CareTeam.name == team_name))
    if team is None:
        team = patients.create_team(session, name=team_name, now=now)
    member = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.team_id == team.id)
    )
    if member is None:
        patients.add_member(session, user_id=user.id, team_id=team.id, now=now)
    return Principal(role="coordinator", user_id=user.id)


def resolve_stale(
    work: UnitOfWork, *, day: date, after: int, principal: Principal, now: datetime
) -> list[Alert]:
    """Resolves the active alerts the care team can see that first fired ``after`` days or more
    before ``day``, oldest first; returns them."""
    stale = work.session.scalars(
        select(Alert.id)
        .where(
            Alert.status.in_(ACTIVE_STATUSES),
            Alert.fired_on <= day - timedelta(days=after),
            visible_alerts(principal),
        )
        .order_by(Alert.id)
    ).all()
    note = resolution_note(after)
    return [
        resolve(work, alert_id=alert_id, principal=principal, now=now, note=note)
        for alert_id in stale
    ]
