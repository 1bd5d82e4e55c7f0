"""One intake as a FHIR R4 Bundle: who the patient is, their answers, the flags and the decision.

The Bundle is a ``collection``: every resource has a ``urn:uuid:`` fullUrl, and every
reference inside it points at one of those, so a receiving system resolves them without
calling back. The ids are derived from the intake (uuid5), so exporting twice gives the
same Bundle and a receiver can update in place.

- Patient: name, email, birth date and administrative gender, from the answers.
- QuestionnaireResponse: the answers, with ``subject`` (the Patient) and ``questionnaire``
  the clinic's public canonical URL of the form (served without sign-in; it holds no
  patient data).
- DetectedIssue, one per flag of the latest assessment: severity high (contraindicated),
  moderate (defer) or low (precaution); the review (acknowledged or overridden, with the
  reason) as a ``mitigation`` by the Practitioner who made it.
- ClinicalImpression: the decision that stands, by its Practitioner, citing the issues and
  the answers it weighed; Provenance: who signed it and when (and the decision it amends).
- Practitioner: each member of staff named above.

Checked in the tests with the fhir.resources models (see tests/web/test_exports.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..answers import fhir as answers_fhir

#: uuid5 namespace of the resources of this product's Bundles.
NAMESPACE = uuid.UUID("6c1f2a8e-4b1d-5f3a-9c0e-7d2b8a4f1e63")
#: DetectedIssue.severity (http://hl7.org/fhir/detectedissue-severity) for each flag severity.
ISSUE_SEVERITY = {"contraindicated": "high", "defer": "moderate", "precaution": "low"}
GENDER = {"female": "female", "male": "male", "prefer_not_to_say": "unknown"}
#: What each decision outcome reads as in the ClinicalImpression's summary.
DECISION_SUMMARY = {
    "approved": "Suitable: treatment approved as planned.",
    "approved_with_precautions": "Suitable with precautions: treatment approved as planned.",
    "more_information_needed": "More information requested from the patient.",
    "deferred": "Treatment deferred.",
    "not_suitable": "Not suitable for treatment.",
}
RULE_SYSTEM = "urn:meso-intake:rule"
DECISION_SYSTEM = "urn:meso-intake:decision"


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class FlagReview:
    action: str  # acknowledged | overridden
    reason: str
    by: Staff
    at: dt.datetime


@dataclass(frozen=True)
class Decision:
    id: int
    outcome: str
    defer_until: dt.date | None
    patient_message: str
    note: str
    by: Staff
    signed_at: dt.datetime
    supersedes_id: int | None
    amendment_reason: str


@dataclass(frozen=True)
class IntakeRecord:
    """What the Bundle is made of, read from the database by the export view."""

    intake_id: int
    submitted: bool
    answers: Mapping[str, Any]
    authored: dt.datetime | None
    assessed_on: dt.date | None
    flags: Sequence[Mapping[str, Any]]
    reviews: Mapping[str, FlagReview]
    decision: Decision | None


def _urn(*parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, '/'.join(str(part) for part in parts))}"


def _ref(url: str) -> dict[str, str]:
    return {"reference": url}


def _instant(moment: dt.datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()


def _patient(record: IntakeRecord) -> dict[str, Any]:
    about = record.answers.get("about") or {}
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:meso-intake:intake", "value": str(record.intake_id)}],
    }
    if about.get("full_name"):
        resource["name"] = [{"text": about["full_name"]}]
    if about.get("email"):
        resource["telecom"] = [{"system": "email", "value": about["email"]}]
    if about.get("date_of_birth"):
        resource["birthDate"] = str(about["date_of_birth"])
    if about.get("sex") in GENDER:
        resource["gender"] = GENDER[about["sex"]]
    return resource


def _practitioner(staff: Staff) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": "urn:meso-intake:staff", "value": str(staff.id)}],
        "name": [{"text": staff.name}],
        "telecom": [{"system": "email", "value": staff.email}],
    }


def _issue(flag: Mapping[str, Any], record: IntakeRecord, patient: str, response: str,
           practitioners: Mapping[int, str]) -> dict[str, Any]:
    title = flag.get("title") or flag["rule_id"]
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "final",
        "code": {"coding": [{"system": RULE_SYSTEM, "code": flag["rule_id"], "display": title}], "text": title},
        "severity": ISSUE_SEVERITY[flag["severity"]],
        "patient": _ref(patient),
        "detail": flag["message"],
        "evidence": [{"detail": [_ref(response)]}],
    }
    if record.assessed_on is not None:
        resource["identifiedDateTime"] = record.assessed_on.isoformat()
    review = record.reviews.get(flag["rule_id"])
    if review is not None:
        action = "Overridden" if review.action == "overridden" else "Acknowledged"
        resource["mitigation"] = [{
            "action": {"text": f"{action}: {review.reason}" if review.reason else action},
            "date": _instant(review.at),
            "author": _ref(practitioners[review.by.id]),
        }]
    return resource


def _impression(decision: Decision, patient: str, response: str, issues: Iterable[str],
                practitioners: Mapping[int, str]) -> dict[str, Any]:
    summary = DECISION_SUMMARY.get(decision.outcome, decision.outcome)
    if decision.defer_until:
        summary = f"Treatment deferred until {decision.defer_until.isoformat()}."
    resource: dict[str, Any] = {
        "resourceType": "ClinicalImpression",
        "identifier": [{"system": DECISION_SYSTEM, "value": str(decision.id)}],
        "status": "completed",
        "code": {"coding": [{"system": DECISION_SYSTEM, "code": decision.outcome}], "text": summary},
        "subject": _ref(patient),
        "date": _instant(decision.signed_at),
        "assessor": _ref(practitioners[decision.by.id]),
        "summary": summary,
        "supportingInfo": [_ref(response), *(_ref(issue) for issue in issues)],
    }
    notes = [text for text in (decision.patient_message, decision.note) if text]
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def _provenance(decision: Decision, impression: str, practitioners: Mapping[int, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [_ref(impression)],
        "recorded": _instant(decision.signed_at),
        "activity": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
            "code": "UPDATE" if decision.supersedes_id else "CREATE",
        }]},
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                 "code": "attester"}]},
            "who": _ref(practitioners[decision.by.id]),
        }],
    }
    if decision.supersedes_id:
        resource["reason"] = [{"text": decision.amendment_reason or "Amends an earlier decision"}]
    return resource


def intake_bundle(record: IntakeRecord, *, questionnaire_url: str, timestamp: dt.datetime) -> dict[str, Any]:
    """The intake as a FHIR R4 Bundle of type collection (see the module's docstring)."""
    intake = record.intake_id
    patient_url = _urn(intake, "Patient")
    response_url = _urn(intake, "QuestionnaireResponse")
    entries: list[dict[str, Any]] = [{"fullUrl": patient_url, "resource": _patient(record)}]

    response = answers_fhir.questionnaire_response(
        intake_id=intake, submitted=record.submitted, answers=record.answers, authored=record.authored,
        questionnaire_url=questionnaire_url)
    response["subject"] = _ref(patient_url)
    entries.append({"fullUrl": response_url, "resource": response})

    staff = {review.by.id: review.by for review in record.reviews.values()}
    if record.decision is not None:
        staff[record.decision.by.id] = record.decision.by
    practitioners = {staff_id: _urn(intake, "Practitioner", staff_id) for staff_id in sorted(staff)}
    entries += [{"fullUrl": practitioners[staff_id], "resource": _practitioner(staff[staff_id])}
                for staff_id in sorted(staff)]

    issues = []
    for flag in record.flags:
        if flag["severity"] not in ISSUE_SEVERITY:
            continue  # info items are notes for the practitioner, not issues
        url = _urn(intake, "DetectedIssue", flag["rule_id"])
        issues.append(url)
        entries.append({"fullUrl": url, "resource": _issue(flag, record, patient_url, response_url, practitioners)})

    if record.decision is not None:
        impression_url = _urn(intake, "ClinicalImpression", record.decision.id)
        entries.append({"fullUrl": impression_url, "resource": _impression(
            record.decision, patient_url, response_url, issues, practitioners)})
        entries.append({"fullUrl": _urn(intake, "Provenance", record.decision.id),
                        "resource": _provenance(record.decision, impression_url, practitioners)})

    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(NAMESPACE, f"{intake}/Bundle")),
        "identifier": {"system": "urn:meso-intake:intake", "value": str(intake)},
        "type": "collection",
        "timestamp": _instant(timestamp),
        "entry": entries,
    }
