"""phenowatch's read-only FHIR R4 interface (``/fhir``): PHQ-9 as QuestionnaireResponse and
Observation, nightly measures as Observation, alerts as DetectedIssue, Task and Flag."""
