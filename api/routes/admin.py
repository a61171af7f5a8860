"""Admin routes: care teams, coordinators, memberships, patients and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api.auth import Admin
from api.routes.schemas import Body, Id, Line
from api.services import patients, tokens

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class TeamIn(Body):
    name: Line = Field(min_length=1, max_length=200)


class TeamOut(BaseModel):
    id: int
    name: str


class UserIn(Body):
    email: Line = Field(min_length=3, max_length=320)
    name: Line = Field(min_length=1, max_length=200)
    role: Literal["coordinator", "admin"] = "coordinator"


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str


class MemberIn(Body):
    user_id: Id


class PatientIn(Body):
    id: Line = Field(min_length=1, max_length=64)
    team_id: Id


class PatientOut(BaseModel):
    id: str
    team_id: int


class TokenIn(Body):
    user_id: Id | None = None
    patient_id: Line | None = Field(default=None, max_length=64)
    label: Line = Field(default="", max_length=200)


class TokenOut(BaseModel):
    id: int
    role: str
    user_id: int | None
    patient_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None = None
    token: str | None = Field(default=None, description="the secret, shown this once only")


@router.post("/teams", status_code=status.HTTP_201_CREATED, response_model=TeamOut)
def create_team(body: TeamIn, ctx: Admin) -> TeamOut:
    team = patients.create_team(ctx.session, name=body.name, now=ctx.now)
    return TeamOut(id=team.id, name=team.name)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def create_user(body: UserIn, ctx: Admin) -> UserOut:
    user = patients.create_user(
        ctx.session, email=body.email, name=body.name, role=body.role, now=ctx.now
    )
    return UserOut(id=user.id, email=user.email, name=user.name, role=user.role)


@router.post("/teams/{team_id}/members", status_code=status.HTTP_201_CREATED)
def add_member(team_id: Id, body: MemberIn, ctx: Admin) -> dict[str, int]:
    patients.add_member(ctx.session, user_id=body.user_id, team_id=team_id, now=ctx.now)
    return {"team_id": team_id, "user_id": body.user_id}


@router.post("/patients", status_code=status.HTTP_201_CREATED, response_model=PatientOut)
def create_patient(body: PatientIn, ctx: Admin) -> PatientOut:
    ctx.audit.patient_id = body.id
    patient = patients.create_patient(
        ctx.session, patient_id=body.id, team_id=body.team_id, now=ctx.now
    )
    return PatientOut(id=patient.id, team_id=patient.team_id)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenOut)
def create_token(body: TokenIn, ctx: Admin) -> TokenOut:
    ctx.audit.patient_id = body.patient_id
    token, secret = tokens.issue_token(
        ctx.session,
        now=ctx.now,
        user_id=body.user_id,
        patient_id=body.patient_id,
        label=body.label,
    )
    return TokenOut.model_validate({**_token(token), "token": secret})


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: Id, ctx: Admin) -> TokenOut:
    token = tokens.revoke_token(ctx.session, token_id=token_id, now=ctx.now)
    return TokenOut.model_validate(_token(token))


def _token(token: tokens.ApiToken) -> dict[str, object]:
    return {
        "id": token.id,
        "role": token.role,
        "user_id": token.user_id,
        "patient_id": token.patient_id,
        "label": token.label,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }
