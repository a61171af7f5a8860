"""PHQ-9 in FHIR R4: QuestionnaireResponse, Observation, and Bundles of them (JSON).

How answers are found, whatever the producer:

* A **question** is recognised by its LOINC item code (44250-9 ... 44260-8, difficulty 69722-7,
  total 44261-6) wherever the producer put it: the item's ``code``, its ``linkId`` (``/44250-9``)
  or its ``definition``. Failing that, by a numbered PHQ linkId (``PHQ.1``, ``phq9-3``,
  ``PHQ-9.10`` for difficulty, ``PHQ.Score`` for the total). Never by its position in the list.
* An **answer** is a ``valueCoding`` with a LOINC answer code (LA6568-5 = 0 ... LA6571-9 = 3;
  the ``system`` may be missing), a ``valueInteger``/``valueDecimal``, or for the total a
  ``valueQuantity``. An unknown answer code, or a PHQ answer code on a question that cannot be
  told apart, rejects the file.
* An **Observation** coded 44249-1 (panel) or 44261-6 (total) gives the total from its value,
  and items from its ``component`` list or, inside a Bundle, from the Observations its
  ``hasMember`` points to. It may carry only the total: items are then null.
* ``answered_at`` is ``authored`` (QuestionnaireResponse) or ``effectiveDateTime`` /
  ``effectivePeriod.start`` / ``issued`` (Observation). Resources marked ``entered-in-error``
  are skipped, as are resources of other questionnaires inside a Bundle.
* A PHQ-9 **Questionnaire** (the blank form, LOINC 44249-1), alone or in a Bundle of forms, is
  recognised but holds no answers: it yields no entries, so a form shipped beside its responses
  does no harm, and it maps opaque linkIds of responses to its LOINC codes (see below).
* A response whose linkIds carry no code is read through its Questionnaire (``questionnaire``
  matched to the form's ``url`` or ``Questionnaire/<id>``), found in the same Bundle or, failing
  that, among the other JSON files of the upload.
* A resource whose questionnaire reference names the PHQ-8 (``phq8``/``phq-8``) is a PHQ-8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

import polars as pl

from ingest.archive import Member
from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import Format, ParseOptions
from ingest.phq9 import (
    ANSWER_CODES,
    DIFFICULTY_CODES,
    DIFFICULTY_LOINC,
    ITEM_LOINC,
    PANEL_LOINC,
    TOTAL_LOINC,
    finish,
    parse_answer_time,
    raw_frame,
    whole_number,
)
from ingest.schema import PHQ9, PHQ9_ITEMS, empty

RESOURCE_TYPES = (b'"QuestionnaireResponse"', b'"Observation"', b'"Bundle"', b'"Questionnaire"')
#: the answer codes are not markers: GAD-7 and other PHQ instruments share them
PHQ_MARKERS = (PANEL_LOINC.encode(), TOTAL_LOINC.encode(), *(c.encode() for c in ITEM_LOINC))
LOINC_CODE = re.compile(r"(?<![\d-])(\d{4,5}-\d)(?![\d-])")
NUMBERED_LINK = re.compile(r"(?i)phq[-_ ]?[89]?[-_. ]?(?:item[-_ ]?)?(\d{1,2})")
TOTAL_LINK = re.compile(r"(?i)phq.*(score|total)")

#: what a question is: "item_3", "difficulty" or "total"
Field = str


def sniff(path: str, head: bytes) -> bool:
    return (
        head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"
        and b'"resourceType"' in head
        and any(kind in head for kind in RESOURCE_TYPES)
        and (any(marker in head for marker in PHQ_MARKERS) or b"phq" in head.lower())
    )


def _field_of_code(code: str) -> Field | None:
    if code in ITEM_LOINC:
        return f"item_{ITEM_LOINC[code]}"
    return {DIFFICULTY_LOINC: "difficulty", TOTAL_LOINC: "total"}.get(code)


def _codes(concept: Any) -> list[str]:
    if isinstance(concept, dict):
        concept = concept.get("coding") or [concept]
    if not isinstance(concept, list):
        return []
    return [str(c["code"]) for c in concept if isinstance(c, dict) and "code" in c]


def _question(item: dict[str, Any], form: Mapping[str, str]) -> tuple[Field | None, bool]:
    """(field, carries a LOINC code) of a QuestionnaireResponse item; ``form`` maps the linkIds
    of its Questionnaire, where the upload has it, to their LOINC codes."""
    link = str(item.get("linkId", ""))
    texts = [*_codes(item.get("code")), link, str(item.get("definition", "")), form.get(link, "")]
    found = [code for text in texts for code in LOINC_CODE.findall(text)]
    for code in found:
        if field := _field_of_code(code):
            return field, True
    if match := NUMBERED_LINK.fullmatch(link.split("/")[-1]):
        number = int(match.group(1))
        if 1 <= number <= 9:
            return f"item_{number}", False
        if number == 10:
            return "difficulty", False
    if TOTAL_LINK.search(link):
        return "total", False
    return None, bool(found)


def _answer(value_holder: dict[str, Any], field: Field, file: str, record: str) -> int | None:
    """The score of one answer (``value[x]`` of an answer or a component)."""
    if "valueCoding" in value_holder or "valueCodeableConcept" in value_holder:
        codes = _codes(value_holder.get("valueCoding") or value_holder.get("valueCodeableConcept"))
        table = DIFFICULTY_CODES if field == "difficulty" else ANSWER_CODES
        for code in codes:
            if code in table:
                return table[code]
        raise InvalidValueError(
            file,
            f"{field} has the unknown answer code {', '.join(codes) or '(none)'}",
            record=record,
        )
    for key in ("valueInteger", "valueDecimal"):
        if key in value_holder:
            return whole_number(value_holder[key], file, record, field)
    if "valueQuantity" in value_holder:
        quantity = value_holder["valueQuantity"]
        value = quantity.get("value") if isinstance(quantity, dict) else None
        return whole_number(value, file, record, field)
    other = sorted(key for key in value_holder if key.startswith("value"))
    if other:
        raise InvalidValueError(
            file,
            f"{field} is answered as {other[0]}, not as a coded or whole-number answer",
            record=record,
        )
    return None


def _walk_items(items: Any) -> list[dict[str, Any]]:
    """Every item of a response, nested groups and answers' sub-items included."""
    found: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            found.append(item)
            found.extend(_walk_items(item.get("item")))
            for answer in item.get("answer") or []:
                if isinstance(answer, dict):
                    found.extend(_walk_items(answer.get("item")))
    return found


def _set(
    values: dict[Field, int | None], field: Field, value: int | None, file: str, rec: str
) -> None:
    if field in values:
        raise InvalidValueError(file, f"{field} is answered twice", record=rec)
    values[field] = value


def _from_response(
    res: dict[str, Any], form: Mapping[str, str], file: str, record: str
) -> dict[Field, int | None]:
    values: dict[Field, int | None] = {}
    for item in _walk_items(res.get("item")):
        answers = [a for a in item.get("answer") or [] if isinstance(a, dict)]
        if not answers:
            continue
        field, coded = _question(item, form)
        if field is None:
            codes = [c for a in answers for c in _codes(a.get("valueCoding"))]
            if not coded and any(code in ANSWER_CODES for code in codes):
                raise InvalidValueError(
                    file,
                    f"the answer at linkId {item.get('linkId')!r} cannot be matched to a PHQ-9 "
                    "question (no LOINC item code, no numbered PHQ linkId, and no Questionnaire "
                    "in the upload that codes it)",
                    record=record,
                )
            continue  # a question of another instrument
        _set(values, field, _answer(answers[0], field, file, record), file, record)
    return values


def _from_observation(
    res: dict[str, Any], members: dict[str, dict[str, Any]], file: str, record: str
) -> dict[Field, int | None]:
    values: dict[Field, int | None] = {}
    total = _answer(res, "total", file, record)
    if total is not None:
        values["total"] = total
    parts = [c for c in res.get("component") or [] if isinstance(c, dict)]
    for ref in res.get("hasMember") or []:
        target = members.get(str(ref.get("reference", ""))) if isinstance(ref, dict) else None
        if target is not None:
            parts.append(target)
    for part in parts:
        fields = [f for f in map(_field_of_code, _codes(part.get("code"))) if f]
        if not fields:
            continue  # a component of another kind
        value = _answer(part, fields[0], file, record)
        if fields[0] == "total" and "total" in values:
            if value != values["total"]:
                raise InvalidValueError(
                    file, f"total is given twice, as {values['total']} and {value}", record=record
                )
            continue
        _set(values, fields[0], value, file, record)
    return values


def _observation_time(res: dict[str, Any]) -> object:
    period = res.get("effectivePeriod")
    start = period.get("start") if isinstance(period, dict) else None
    return res.get("effectiveDateTime") or start or res.get("effectiveInstant") or res.get("issued")


def _subject(res: dict[str, Any]) -> str:
    subject = res.get("subject")
    ref = subject.get("reference", "") if isinstance(subject, dict) else ""
    return str(ref).rsplit("/", 1)[-1]


def _is_phq8(res: dict[str, Any]) -> bool:
    return bool(re.search(r"(?i)phq-?8", str(res.get("questionnaire", ""))))


def _form_codes(questionnaire: dict[str, Any]) -> dict[str, str]:
    """linkId -> PHQ LOINC code of each coded question of a Questionnaire."""
    codes: dict[str, str] = {}
    for item in _walk_items(questionnaire.get("item")):
        for code in _codes(item.get("code")):
            if _field_of_code(code):
                codes[str(item.get("linkId", ""))] = code
    return codes


def _form_keys(questionnaire: dict[str, Any]) -> list[str]:
    """The ways a response may name this Questionnaire: its canonical url, Questionnaire/id."""
    keys = [f"Questionnaire/{questionnaire.get('id')}"]
    if questionnaire.get("url"):
        keys.append(str(questionnaire["url"]))
    return keys


def _sibling_forms(options: ParseOptions) -> dict[str, dict[str, str]]:
    """Questionnaires among the other JSON files of the upload, read only when a response needs
    one (most uploads carry none)."""
    forms: dict[str, dict[str, str]] = {}
    for member in options.siblings:
        if not member.name.lower().endswith(".json"):
            continue
        head = member.head(4096)
        if b'"Questionnaire"' not in head or b'"QuestionnaireResponse"' in head:
            continue
        with member.open() as fh:
            try:
                doc = json.loads(fh.read())
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # reported when that file itself is read
        for _, res in _resources(doc) if isinstance(doc, dict) else []:
            if res.get("resourceType") == "Questionnaire":
                forms.update(dict.fromkeys(_form_keys(res), _form_codes(res)))
    return forms


def _resources(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(full url or empty, resource) for a resource or every entry of a Bundle."""
    if doc.get("resourceType") != "Bundle":
        return [("", doc)]
    found: list[tuple[str, dict[str, Any]]] = []
    for entry in doc.get("entry") or []:
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            found.append((str(entry.get("fullUrl", "")), entry["resource"]))
    return found


@dataclass
class _Context:
    """What the resources of one file may refer to: its Observations (``hasMember``) and the
    Questionnaires of the file or, read on first need, of the rest of the upload."""

    file: str
    options: ParseOptions
    observations: dict[str, dict[str, Any]] = default(default_factory=dict)
    member_refs: set[str] = default(default_factory=set)
    forms: dict[str, dict[str, str]] = default(default_factory=dict)
    siblings_read: bool = False

    @classmethod
    def of(
        cls, resources: list[tuple[str, dict[str, Any]]], file: str, options: ParseOptions
    ) -> _Context:
        ctx = cls(file, options)
        for url, res in resources:
            if res.get("resourceType") == "Observation":
                ctx.observations[f"Observation/{res.get('id')}"] = res
                if url:
                    ctx.observations[url] = res
                for ref in res.get("hasMember") or []:
                    if isinstance(ref, dict):
                        ctx.member_refs.add(str(ref.get("reference")))
            elif res.get("resourceType") == "Questionnaire":
                ctx.forms.update(dict.fromkeys(_form_keys(res), _form_codes(res)))
        return ctx

    def form(self, response: dict[str, Any]) -> Mapping[str, str]:
        key = str(response.get("questionnaire", "")).split("|")[0]
        if key and key not in self.forms and not self.siblings_read:
            self.forms = {**_sibling_forms(self.options), **self.forms}
            self.siblings_read = True
        return self.forms.get(key, {})


def _entry(res: dict[str, Any], url: str, record: str, ctx: _Context) -> dict[str, object] | None:
    """The raw row of one resource, or None when it is not a PHQ-9 entry."""
    if res.get("resourceType") == "QuestionnaireResponse":
        values = _from_response(res, ctx.form(res), ctx.file, record)
        when, when_field = res.get("authored"), "authored"
    else:
        is_member = f"Observation/{res.get('id')}" in ctx.member_refs or url in ctx.member_refs
        if is_member or not ({PANEL_LOINC, TOTAL_LOINC} & set(_codes(res.get("code")))):
            return None  # one question of a panel, or another measurement
        values = _from_observation(res, ctx.observations, ctx.file, record)
        when, when_field = _observation_time(res), "effectiveDateTime"
    if not values:
        return None  # a response to another questionnaire
    answered_at, offset = parse_answer_time(when, ctx.file, record, when_field)
    return {
        "record": record,
        "patient_id": ctx.options.patient_id or _subject(res),
        "answered_at": answered_at,
        "utc_offset_min": offset,
        **{item: values.get(item) for item in PHQ9_ITEMS},
        "total": values.get("total"),
        "difficulty": values.get("difficulty"),
        "instrument": "phq8" if _is_phq8(res) else "phq9",
        "source": "fhir",
    }


def _rows(doc: dict[str, Any], file: str, options: ParseOptions) -> list[dict[str, object]]:
    resources = _resources(doc)
    ctx = _Context.of(resources, file, options)
    rows: list[dict[str, object]] = []
    for n, (url, res) in enumerate(resources, 1):
        kind = res.get("resourceType")
        if kind not in ("QuestionnaireResponse", "Observation"):
            continue
        if res.get("status") == "entered-in-error":
            continue
        record = f"{kind}/{res.get('id', '?')}" + (f" (entry {n})" if len(resources) > 1 else "")
        row = _entry(res, url, record, ctx)
        if row is not None:
            rows.append(row)
    return rows


def parse(member: Member, options: ParseOptions) -> pl.DataFrame:
    file = member.display
    with member.open() as fh:
        data = fh.read()
    if options.progress:
        options.progress(len(data))
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedFileError(file, f"not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise MalformedFileError(file, "a FHIR resource must be a JSON object")
    rows = _rows(doc, file, options)
    forms_only = all(res.get("resourceType") == "Questionnaire" for _, res in _resources(doc))
    if not rows and forms_only and _resources(doc):
        return empty(PHQ9)  # the blank form: no answers in it (see the module docstring)
    if not rows:
        raise MalformedFileError(
            file, "no PHQ-9 QuestionnaireResponse or Observation (LOINC 44249-1/44261-6) in it"
        )
    return finish(raw_frame(rows), file)


FORMATS: tuple[Format, ...] = (Format("phq9_fhir", "phq9", sniff, parse),)
