"""Response and request bodies shared by the routes, and the constrained types they use.

Request bodies refuse fields they do not know (``Body``); ids stay within the database's 64-bit
integers (``Id``); names, e-mails, descriptions and file names are single lines without control
characters (``Line``), notes may hold line breaks but no other control character (``Prose``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from api.alert_shape import alert_shape
from api.store import Alert, Upload
from api.store.uploads import UploadStatus
from detect.signals import Direction, Kind, Severity

MAX_ID = 2**63 - 1
#: a row id: the database's integers are 64-bit, a larger number names nothing
Id = Annotated[int, annotated_types.Ge(1), annotated_types.Le(MAX_ID)]
AlertStatus = Literal["open", "acknowledged", "resolved"]
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PROSE_BREAKS = frozenset("\n\r\t")


def _single_line(value: str) -> str:
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("control characters (NUL, line breaks, tabs, …) are not allowed")
    return value


def _prose(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" and c not in _PROSE_BREAKS for c in value):
        raise ValueError("control characters other than line breaks and tabs are not allowed")
    return value


def _iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Line = Annotated[
    str,
    AfterValidator(_single_line),
    Field(json_schema_extra={"pattern": r"^[^\u0000-\u001f\u007f-\u009f]*$"}),
]
#: a calendar day, written YYYY-MM-DD (not a number of seconds, as pydantic would also read)
Day = Annotated[date, BeforeValidator(_iso_day)]
Prose = Annotated[
    str,
    AfterValidator(_prose),
    Field(
        json_schema_extra={"pattern": r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"}
    ),
]


class Body(BaseModel):
    """A request body: a field phenowatch does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class UploadWarningOut(BaseModel):
    """Something the upload left out. ``kind``: ``file_refused`` (a broken file, ``reason`` is
    its error), ``file_not_read`` (no known format) or ``record_skipped`` (``count`` records of
    ``file`` skipped for ``reason``, ``record`` names the first)."""

    kind: str
    file: str
    reason: str
    record: str | None = None
    count: int = 1


class UploadOut(BaseModel):
    id: str
    patient_id: str
    status: UploadStatus
    status_url: str
    filename: str
    size_bytes: int
    created_at: datetime
    finished_at: datetime | None = None
    nights_added: int | None = None
    phq9_added: int | None = None
    error: str | None = None
    #: files and records left out, each naming its file
    warnings: list[UploadWarningOut] = Field(default_factory=list)
    duplicate: bool = False

    @classmethod
    def of(cls, upload: Upload, *, duplicate: bool = False) -> UploadOut:
        return cls(
            id=upload.id,
            patient_id=upload.patient_id,
            status=upload.status,
            status_url=f"/v1/uploads/{upload.id}",
            filename=upload.filename,
            size_bytes=upload.size_bytes,
            created_at=upload.created_at,
            finished_at=upload.finished_at,
            nights_added=upload.nights_added,
            phq9_added=upload.phq9_added,
            error=upload.error,
            warnings=[UploadWarningOut(**w) for w in upload.warnings or []],
            duplicate=duplicate,
        )


class FiringOut(BaseModel):
    """The stored signal of one firing: its own day, window, metrics and sentence."""

    fired_on: date
    window_start: date
    window_end: date
    explanation: str
    metrics: list[str]


class AlertEventOut(BaseModel):
    event: Literal[
        "opened", "acknowledged", "resolved", "escalated", "refired", "assigned", "unassigned"
    ]
    actor: str
    note: str | None
    at: datetime
    signal: FiringOut | None = Field(
        default=None, description="for the firings (opened, refired): the signal that fired"
    )


class AlertOut(BaseModel):
    """An alert as ``api.alert_shape`` gives it."""

    id: int
    patient_id: str
    kind: Kind
    severity: Severity
    status: AlertStatus
    explanation: str
    detector: str
    detector_version: str
    fired_on: date
    window_start: date
    window_end: date
    last_fired_on: date
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None
    #: the coordinator who took the alert on, None while nobody has
    assignee_user_id: int | None = None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(**alert_shape(alert))


class MetricChangeOut(BaseModel):
    """How one metric moved against the person's own baseline."""

    metric: str = Field(description="a nights column (e.g. sleep_total_min) or phq9_total")
    direction: Direction
    baseline: float = Field(description="the person's usual level")
    current: float = Field(description="the level over the evidence window")
    z: float = Field(description="the change in robust standard units")
    pct: float | None = Field(default=None, description="the relative change, where it makes sense")


class Evidence(BaseModel):
    metrics: list[str]
    changes: list[MetricChangeOut]
    window_start: date
    window_end: date


class AlertDetail(AlertOut):
    evidence: Evidence
    events: list[AlertEventOut]

    @classmethod
    def of(cls, alert: Alert) -> AlertDetail:
        return cls(
            **alert_shape(alert),
            evidence=Evidence.model_validate(alert.evidence),
            events=[AlertEventOut.model_validate(e, from_attributes=True) for e in alert.events],
        )


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class Note(Body):
    note: Prose | None = Field(default=None, max_length=4000)


class AlertCounts(BaseModel):
    by_severity: dict[str, int] = Field(description="urgent, high, moderate, info")
    by_status: dict[str, int] = Field(description="open, acknowledged, resolved")


class Assignee(Body):
    user_id: Id | None = Field(default=None, description="a coordinator; you when left out")


class PatientSummaryOut(BaseModel):
    patient_id: str
    team_id: int
    team: str
    last_night: date | None = Field(description="the last night with any measurement")
    last_upload_at: datetime | None
    coverage: float = Field(description="share of the last 30 days with any measurement")
    phq9_total: int | None
    phq9_item9: int | None
    phq9_answered_at: datetime | None
    active_alerts: int = Field(description="open or acknowledged")
    top_severity: Severity | None


_PROSE_CHAR = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
#: prose with something other than spaces: the service refuses a blank note
_NOT_BLANK = rf"^{_PROSE_CHAR}*[^\s\u0000-\u001f\u007f-\u009f]{_PROSE_CHAR}*$"


class RequiredNote(Body):
    note: Prose = Field(min_length=1, max_length=4000, json_schema_extra={"pattern": _NOT_BLANK})


class NightOut(BaseModel):
    """One night of one patient; a value not measured that night is null, never zero."""

    date: date
    sleep_total_min: float | None = None
    sleep_main_min: float | None = None
    sleep_onset_min: float | None = None
    sleep_midpoint_min: float | None = None
    sleep_efficiency: float | None = None
    sleep_periods: int | None = None
    sleep_source: str | None = None
    hrv_sdnn_ms: float | None = None
    hrv_rmssd_ms: float | None = None
    resting_hr_bpm: float | None = None
    steps: float | None = None
    utc_offset_min: int | None = None
    has_sleep: bool
    has_hrv: bool
    has_resting_hr: bool
    has_steps: bool


class Phq9EntryOut(BaseModel):
    """One PHQ-9 answer: items 0–3 (item_9 null for the PHQ-8), total, difficulty 0–3."""

    answered_at: datetime
    item_1: int | None = None
    item_2: int | None = None
    item_3: int | None = None
    item_4: int | None = None
    item_5: int | None = None
    item_6: int | None = None
    item_7: int | None = None
    item_8: int | None = None
    item_9: int | None = None
    total: int
    difficulty: int | None = None
    instrument: str
    source: str | None = None


class OpenedAlert(BaseModel):
    id: int
    kind: Kind
    severity: Severity
    event: Literal["opened", "refired"] = Field(
        default="opened", description="opened by these answers, or an active alert fired again"
    )


class Phq9Received(BaseModel):
    patient_id: str
    received: int = Field(description="answers stored")
    alerts: list[OpenedAlert] | None = Field(
        default=None,
        description="alerts these answers opened or fired again (shown to coordinators)",
    )
    safety: str | None = Field(
        default=None, description="the safety message, whenever an item-9 answer is above 0"
    )


class ChangePointOut(BaseModel):
    metric: str
    date: date
    direction: str | None = None
    z: float | None = None


class TimelineAlert(BaseModel):
    id: int
    kind: Kind
    severity: Severity
    status: AlertStatus
    fired_on: date
    window_start: date
    window_end: date
    explanation: str


class Timeline(BaseModel):
    patient_id: str
    nights: list[NightOut]
    change_points: list[ChangePointOut]
    phq9: list[Phq9EntryOut]
    alerts: list[TimelineAlert] | None = Field(
        default=None, description="the patient's alerts (coordinators only)"
    )


_SCORE = {"type": "integer", "minimum": 0, "maximum": 3}
_PHQ9_ANSWER = {
    "type": "object",
    "description": "nine answers 0–3 in order (eight for a PHQ-8), as items or item_1…item_9",
    "required": ["answered_at"],
    "properties": {
        "answered_at": {"type": "string", "format": "date-time"},
        "items": {"type": "array", "items": _SCORE, "minItems": 8, "maxItems": 9},
        **{f"item_{n}": _SCORE for n in range(1, 10)},
        "difficulty": {**_SCORE, "nullable": True},
        # checked against the items when given; computed from them when absent or null
        "total": {"type": "integer", "minimum": 0, "maximum": 27, "nullable": True},
    },
    "anyOf": [{"required": ["items"]}, {"required": [f"item_{n}" for n in range(1, 9)]}],
}
#: the JSON a PHQ-9 submission may be: one answer, or a list of them
PHQ9_JSON_SCHEMA = {
    "oneOf": [_PHQ9_ANSWER, {"type": "array", "items": _PHQ9_ANSWER, "minItems": 1}]
}
