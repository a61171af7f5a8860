"""FHIR search parameters: which each resource type takes (the CapabilityStatement lists exactly
these), and how a query string is read into a ``Search``.

Every parameter is read by hand from the query string, so any query string gets an answer: a
search phenowatch understands, or a 400 OperationOutcome naming the parameter that is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement

from api.services.errors import InvalidInput

DEFAULT_COUNT = 50
MAX_COUNT = 200
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # FHIR search parameter type
    meaning: str  # what it filters: patient, date, code, status, id, identifier, updated
    documentation: str


def _patient(doc: str = "the patient's id, or Patient/<id>") -> Param:
    return Param("patient", "reference", "patient", doc)


_UPDATED = Param(
    "_lastUpdated", "date", "updated", "when the resource last changed (ge, le, gt, lt, eq)"
)
SEARCH_PARAMS: dict[str, tuple[Param, ...]] = {
    "Patient": (
        Param("_id", "token", "id", "the patient's phenowatch id"),
        Param("identifier", "token", "identifier", "the phenowatch patient id, system|value"),
        _UPDATED,
    ),
    "Observation": (
        _patient("the patient (required for coordinators): id or Patient/<id>"),
        Param("subject", "reference", "patient", "same as patient"),
        Param("code", "token", "code", "LOINC or phenowatch code, system|code, comma = or"),
        Param("date", "date", "date", "effective date (ge, le, gt, lt, eq)"),
        _UPDATED,
    ),
    "QuestionnaireResponse": (
        _patient("the patient (required for coordinators): id or Patient/<id>"),
        Param("subject", "reference", "patient", "same as patient"),
        Param("authored", "date", "date", "when the PHQ-9 was answered (ge, le, gt, lt, eq)"),
        Param("date", "date", "date", "same as authored"),
        _UPDATED,
    ),
    "DetectedIssue": (
        _patient(),
        Param("identified", "date", "date", "when the alert opened (ge, le, gt, lt, eq)"),
        Param("date", "date", "date", "same as identified"),
        Param("status", "token", "status", "preliminary (open) or final (resolved)"),
        Param("code", "token", "code", "the alert kind: phq9_safety, phq9_relapse, ..."),
        _UPDATED,
    ),
    "Task": (
        _patient(),
        Param("authored-on", "date", "date", "when the alert opened (ge, le, gt, lt, eq)"),
        Param("date", "date", "date", "same as authored-on"),
        Param("status", "token", "status", "requested, accepted or completed"),
        _UPDATED,
    ),
    "Flag": (
        _patient(),
        Param("date", "date", "date", "the flag's period start (ge, le, gt, lt, eq)"),
        Param("status", "token", "status", "active or inactive"),
        _UPDATED,
    ),
}
#: parameters every search takes
CONTROL = (
    Param("_count", "number", "count", f"page size, 0 to {MAX_COUNT} (default {DEFAULT_COUNT})"),
    Param("_offset", "number", "offset", "where a page starts (the next link sets it)"),
)
#: answer formats asked for with _format
JSON_FORMATS = ("json", "application/json", "application/fhir+json")


class SearchError(InvalidInput):
    code = "invalid-search"


@dataclass
class Range:
    """An instant range, lower inclusive and upper exclusive; None is open."""

    lower: datetime | None = None
    upper: datetime | None = None

    def narrow(self, lower: datetime | None, upper: datetime | None) -> None:
        if lower is not None and (self.lower is None or lower > self.lower):
            self.lower = lower
        if upper is not None and (self.upper is None or upper < self.upper):
            self.upper = upper

    def holds(self, value: datetime) -> bool:
        return (self.lower is None or value >= self.lower) and (
            self.upper is None or value < self.upper
        )

    def sql(self, column: Any) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.lower is not None:
            out.append(column >= self.lower)
        if self.upper is not None:
            out.append(column < self.upper)
        return out


@dataclass
class Search:
    count: int = DEFAULT_COUNT
    offset: int = 0
    #: patient ids asked for (several patient parameters must all hold: an empty set matches none)
    patients: set[str] | None = None
    dates: Range = field(default_factory=Range)
    updated: Range = field(default_factory=Range)
    #: (system or None, code) alternatives
    codes: set[tuple[str | None, str]] | None = None
    statuses: set[str] | None = None
    ids: set[str] | None = None

    def patient_allowed(self, patient_id: str) -> bool:
        return self.patients is None or patient_id in self.patients

    def code_allowed(self, system: str, code: str) -> bool:
        return self.codes is None or any(
            c == code and (s is None or s == system) for s, c in self.codes
        )


def parse(resource_type: str, items: Iterable[tuple[str, str]]) -> Search:
    known = {p.name: p for p in (*SEARCH_PARAMS[resource_type], *CONTROL)}
    search = Search()
    for name, value in items:
        if any(ord(char) < 32 for char in name + value):
            raise SearchError(f"{name[:40]!r}: control characters are not allowed", field=name)
        if name in ("_format", "_pretty"):
            continue  # the answer format is checked before the search
        param = known.get(name)
        if param is None:
            base = name.split(":", 1)[0]
            what = "modifier" if base in known else "search parameter"
            raise SearchError(
                f"{resource_type} has no {what} {name!r}; it takes {sorted(known)}", field=name
            )
        _apply(search, param, value)
    return search


def _apply(search: Search, param: Param, value: str) -> None:
    name = param.name
    if param.meaning in ("count", "offset"):
        limit = MAX_COUNT if param.meaning == "count" else MAX_OFFSET
        if not (value.isascii() and value.isdigit()) or int(value) > limit:
            raise SearchError(f"{name} must be a whole number from 0 to {limit}", field=name)
        setattr(search, param.meaning, int(value))
    elif param.meaning == "patient":
        wanted = {value.rstrip("/").rsplit("/", 1)[-1]} if value else set()
        search.patients = wanted if search.patients is None else search.patients & wanted
    elif param.meaning in ("date", "updated"):
        target = search.dates if param.meaning == "date" else search.updated
        target.narrow(*parse_date(name, value))
    elif param.meaning == "code":
        codes = {_token(name, part) for part in value.split(",")}
        search.codes = codes if search.codes is None else search.codes & codes
    elif param.meaning == "status":
        statuses = set(value.split(","))
        search.statuses = statuses if search.statuses is None else search.statuses & statuses
    else:  # id, identifier
        values = {part.rsplit("|", 1)[-1] for part in value.split(",")}
        search.ids = values if search.ids is None else search.ids & values


def _token(name: str, text: str) -> tuple[str | None, str]:
    if not text:
        raise SearchError(f"{name} needs a code", field=name)
    if "|" in text:
        system, _, code = text.rpartition("|")
        return system or None, code
    return None, text


_DATE = re.compile(
    r"(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def parse_date(name: str, text: str) -> tuple[datetime | None, datetime | None]:
    """The (lower, upper) bounds of ``name=<prefix><value>``."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise SearchError(
            f"{name} must be a FHIR date such as ge2026-03-01 or le2026-03-31T23:59:59Z",
            field=name,
        )
    prefix = match["prefix"] or "eq"
    if prefix not in ("eq", "gt", "lt", "ge", "le"):
        raise SearchError(f"{name}: the prefix {prefix!r} is not supported", field=name)
    try:
        start, end = _span(match)
    except (ValueError, OverflowError) as error:
        raise SearchError(f"{name}: {text!r} is not a date", field=name) from error
    return {
        "eq": (start, end),
        "ge": (start, None),
        "gt": (end, None),
        "le": (None, end),
        "lt": (None, start),
    }[prefix]


def _span(match: re.Match[str]) -> tuple[datetime, datetime]:
    """The instants a date of the given precision covers (a day is a UTC day)."""
    year = int(match["year"])
    if match["time"]:
        zone = match["zone"] or "Z"
        moment = datetime.fromisoformat(
            f"{match['year']}-{match['month']}-{match['day']}T{match['time']}"
            f"{'+00:00' if zone == 'Z' else zone}"
        ).astimezone(UTC)
        return moment, moment + timedelta(seconds=1)
    if match["day"]:
        first = date(year, int(match["month"]), int(match["day"]))
        after = first + timedelta(days=1)
    elif match["month"]:
        month = int(match["month"])
        first = date(year, month, 1)
        after = date(year + month // 12, month % 12 + 1, 1)
    else:
        first, after = date(year, 1, 1), date(year + 1, 1, 1)
    return _midnight(first), _midnight(after)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
