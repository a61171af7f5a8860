"""The codes phenowatch's FHIR resources carry, in one table per concept.

PHQ-9 question and answer codes come from ``ingest.phq9``, the same tables the FHIR reader
(``ingest/formats/phq9_fhir.py``) recognises answers by, so a response phenowatch writes reads
back as the entry it came from."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.phq9 import (
    ANSWER_CODES,
    DIFFICULTY_CODES,
    DIFFICULTY_LOINC,
    ITEM_LOINC,
    PANEL_LOINC,
    TOTAL_LOINC,
)

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
#: phenowatch's own code system and identifier namespaces
PHENOWATCH = "https://phenowatch.dev/fhir/CodeSystem/phenowatch"
PATIENT_IDENTIFIER = "https://phenowatch.dev/fhir/patient-id"
ALERT_IDENTIFIER = "https://phenowatch.dev/fhir/alert-id"
USER_IDENTIFIER = "https://phenowatch.dev/fhir/user-id"
TEAM_IDENTIFIER = "https://phenowatch.dev/fhir/care-team-id"
ALERT_SEVERITY_EXTENSION = "https://phenowatch.dev/fhir/StructureDefinition/alert-severity"

PHQ9_QUESTIONNAIRE = f"{LOINC}/q/{PANEL_LOINC}"
SCREENING_PROFILE = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-screening-assessment"
)
QUESTIONNAIRE_RESPONSE_PROFILE = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse"
)

PANEL_DISPLAY = "PHQ-9 quick depression assessment panel [Reported.PHQ]"
TOTAL_DISPLAY = "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"
DIFFICULTY_DISPLAY = (
    "How difficult have these problems made it for you to do your work, take care of things "
    "at home, or get along with other people?"
)
#: question texts, by item number
ITEM_TEXT = {
    1: "Little interest or pleasure in doing things",
    2: "Feeling down, depressed, or hopeless",
    3: "Trouble falling or staying asleep, or sleeping too much",
    4: "Feeling tired or having little energy",
    5: "Poor appetite or overeating",
    6: "Feeling bad about yourself - or that you are a failure or have let yourself or your "
    "family down",
    7: "Trouble concentrating on things, such as reading the newspaper or watching television",
    8: "Moving or speaking so slowly that other people could have noticed. Or the opposite - "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    9: "Thoughts that you would be better off dead, or of hurting yourself in some way",
}
#: item number -> LOINC question code, in the questionnaire's order
ITEM_CODE = {number: code for code, number in ITEM_LOINC.items()}
#: score -> LOINC answer code
ANSWER_CODE = {score: code for code, score in ANSWER_CODES.items()}
DIFFICULTY_CODE = {score: code for code, score in DIFFICULTY_CODES.items()}
ANSWER_DISPLAY = {
    "LA6568-5": "Not at all",
    "LA6569-3": "Several days",
    "LA6570-1": "More than half the days",
    "LA6571-9": "Nearly every day",
    "LA6572-7": "Not difficult at all",
    "LA6573-5": "Somewhat difficult",
    "LA6575-0": "Very difficult",
    "LA6574-3": "Extremely difficult",
}


@dataclass(frozen=True)
class Instrument:
    """The questionnaire, panel and total codes of a PHQ-9, or of a PHQ-8 (its eight questions
    carry the PHQ-9's LOINC codes; its form, panel and total have phenowatch's own codes, so a
    PHQ-8 never passes for a PHQ-9)."""

    questionnaire: str
    system: str
    panel: str
    panel_display: str
    total: str
    total_display: str


INSTRUMENTS = {
    "phq9": Instrument(
        PHQ9_QUESTIONNAIRE, LOINC, PANEL_LOINC, PANEL_DISPLAY, TOTAL_LOINC, TOTAL_DISPLAY
    ),
    "phq8": Instrument(
        "https://phenowatch.dev/fhir/Questionnaire/phq-8",
        PHENOWATCH,
        "phq8-panel",
        "PHQ-8 depression assessment panel",
        "phq8-total",
        "PHQ-8 total score",
    ),
}


@dataclass(frozen=True)
class Measure:
    """One nightly measure as an Observation: the nights column, the code and the unit."""

    key: str  # the first part of the Observation's id
    column: str  # the nights column
    system: str
    code: str
    display: str
    category: str  # observation-category code
    unit: str
    ucum: str


MEASURES = (
    Measure("sleep", "sleep_total_min", LOINC, "93832-4", "Sleep duration", "activity",
            "min", "min"),
    Measure("rhr", "resting_hr_bpm", LOINC, "40443-4", "Heart rate --resting",
            "vital-signs", "beats/minute", "/min"),
    Measure("sdnn", "hrv_sdnn_ms", LOINC, "80404-7",
            "R-R interval.standard deviation (Heart rate variability)", "vital-signs", "ms", "ms"),
    # RMSSD has no LOINC code; 80404-7 is SDNN, a different quantity
    Measure("rmssd", "hrv_rmssd_ms", PHENOWATCH, "hrv-rmssd",
            "Heart rate variability, root mean square of successive differences (RMSSD)",
            "vital-signs", "ms", "ms"),
    Measure("steps", "steps", LOINC, "41950-7", "Number of steps in 24 hour Measured",
            "activity", "steps/day", "/d"),
)  # fmt: skip
MEASURE_BY_KEY = {m.key: m for m in MEASURES}
MEASURE_BY_COLUMN = {m.column: m for m in MEASURES}
#: nights columns served as no Observation of their own, and the measure that stands for the
#: night in an alert's evidence (a change of sleep timing rests on the nights' sleep records)
EVIDENCE_MEASURE = {
    **MEASURE_BY_COLUMN,
    "sleep_main_min": MEASURE_BY_KEY["sleep"],
    "sleep_onset_min": MEASURE_BY_KEY["sleep"],
    "sleep_midpoint_min": MEASURE_BY_KEY["sleep"],
    "sleep_irregularity_min": MEASURE_BY_KEY["sleep"],
}

#: phenowatch alert severity -> DetectedIssue.severity
ISSUE_SEVERITY = {"urgent": "high", "high": "high", "moderate": "moderate", "info": "low"}
#: alert status -> DetectedIssue.status (the finding) and Task.status (the care team's work)
ISSUE_STATUS = {"open": "preliminary", "acknowledged": "preliminary", "resolved": "final"}
TASK_STATUS = {"open": "requested", "acknowledged": "accepted", "resolved": "completed"}
TASK_PRIORITY = {"urgent": "stat", "high": "urgent", "moderate": "routine", "info": "routine"}
ALERT_KIND_DISPLAY = {
    "phq9_safety": "PHQ-9 item 9 above 0 (thoughts of death or self-harm)",
    "phq9_relapse": "PHQ-9 relapse (total rose to a clinically meaningful level)",
    "passive_change": "Change in sleep, heart rate or activity against the person's baseline",
    "data_gap": "Nights without wearable data",
}

__all__ = [
    "DIFFICULTY_LOINC",
    "PANEL_LOINC",
    "TOTAL_LOINC",
]
