"""Whether a caller may see a care team: one check for every team-scoped read and write."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.services.errors import NotFound
from api.services.tokens import Principal
from api.store import CareTeam, Membership


def check_team(
    session: Session, *, principal: Principal, team_id: int, admins: bool = False
) -> None:
    """The team's coordinators see it; with ``admins``, an admin sees every team that exists.
    Anyone else is told there is no such team (NotFound), exactly as for a team that does not
    exist, so team ids cannot be probed. Which roles may ask at all is the caller's to refuse
    first (Forbidden), with its own reason."""
    if principal.role == "admin" and admins:
        visible = session.get(CareTeam, team_id) is not None
    else:
        visible = (
            principal.role == "coordinator"
            and principal.user_id is not None
            and session.get(Membership, (principal.user_id, team_id)) is not None
        )
    if not visible:
        raise NotFound(f"no team {team_id}")
