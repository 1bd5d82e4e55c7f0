"""What the API accepts and returns (marshmallow; the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..assessment import OUTCOMES, SEVERITIES
from ..models import FlagAction, IntakeStatus, Outcome, ReviewStatus

MAX_PER_PAGE = 100


class IntakeFiltersSchema(Schema):
    """The queue's filters, as query parameters."""

    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf([status.value for status in IntakeStatus]))
    review_status = fields.String(validate=validate.OneOf([status.value for status in ReviewStatus]), metadata={
        "description": "Where the intake stands in the review queue (the queue's status filter)."})
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    appointment_from = fields.Date(metadata={"description": "Appointments on or after this date."})
    appointment_to = fields.Date(metadata={"description": "Appointments on or before this date."})
    q = fields.String(validate=validate.Length(max=120), metadata={
        "description": "Words of the name or email, each whole or its first 3+ letters; with @, the email's start."})

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("appointment_from"), data.get("appointment_to")
        if start and end and start > end:
            raise ValidationError("Must not be before appointment_from.", "appointment_to")


#: No list has this many pages; the limit keeps the row offset inside a 64-bit integer.
MAX_PAGE = 10**9


class IntakeListArgsSchema(IntakeFiltersSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class FlagSummarySchema(Schema):
    rule_id = fields.String()
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    message = fields.String()


class IntakeCreatedSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    defer_until = fields.Date(allow_none=True)
    ruleset_version = fields.String()
    flags = fields.List(fields.Nested(FlagSummarySchema))
    flag_counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                              metadata={"description": "Number of flags per severity."})
    patient_link = fields.String(metadata={"description": "The patient's private link (their confirmation "
                                                          "and dated checklist). Returned only here, once."})


class AssessmentSchema(Schema):
    id = fields.Integer()
    created_at = fields.AwareDateTime()
    assessed_on = fields.Date()
    ruleset_version = fields.String()
    outcome = fields.String()
    defer_until = fields.Date(allow_none=True)
    document = fields.Dict(metadata={"description": "Flags, patient instructions and the suggested plan."})


class IntakeSummarySchema(Schema):
    id = fields.Integer()
    status = fields.String()
    full_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    appointment_date = fields.Date(allow_none=True)
    created_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    defer_until = fields.Date(allow_none=True)
    flag_count = fields.Integer()


class StaffSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class DecisionSchema(Schema):
    id = fields.Integer()
    assessment_id = fields.Integer(metadata={"description": "The assessment the decision was made on."})
    outcome = fields.String(validate=validate.OneOf([outcome.value for outcome in Outcome]))
    defer_until = fields.Date(allow_none=True)
    question = fields.String(allow_none=True, metadata={
        "description": "What the patient was asked (more_information_needed)."})
    reopened_sections = fields.List(fields.String())
    note = fields.String(allow_none=True, metadata={"description": "The practitioner's note, for staff."})
    patient_message = fields.String(allow_none=True, metadata={"description": "What the patient was told."})
    plan = fields.Dict(allow_none=True, metadata={"description": "The session plan agreed, for an approval."})
    signed_by = fields.Nested(StaffSchema)
    signed_at = fields.AwareDateTime()
    ruleset_version = fields.String()
    supersedes_id = fields.Integer(allow_none=True, metadata={"description": "The decision this one amends."})
    amendment_reason = fields.String(allow_none=True)
    reply = fields.String(allow_none=True, metadata={"description": "The patient's answer to the question."})
    replied_at = fields.AwareDateTime(allow_none=True)


class FlagReviewSchema(Schema):
    id = fields.Integer()
    assessment_id = fields.Integer()
    rule_id = fields.String()
    action = fields.String(validate=validate.OneOf([action.value for action in FlagAction]))
    reason = fields.String(allow_none=True)
    by = fields.Nested(StaffSchema)
    at = fields.AwareDateTime()
    carried_from_id = fields.Integer(allow_none=True, metadata={
        "description": "The review this one repeats, carried over to a re-assessment on unchanged answers."})


class PlanEditSchema(Schema):
    id = fields.Integer()
    assessment_id = fields.Integer()
    plan = fields.Dict()
    changes = fields.Dict(metadata={"description": "Item → [suggested, edited]."})
    by = fields.Nested(StaffSchema)
    at = fields.AwareDateTime()
    carried_from_id = fields.Integer(allow_none=True)


class IntakeDetailSchema(IntakeSummarySchema):
    answers = fields.Dict(metadata={"description": "The answers document (see docs/answers.md)."})
    latest_assessment = fields.Nested(AssessmentSchema, allow_none=True)
    review_status = fields.String(metadata={"description": "Where the intake stands in the review queue."})
    decisions = fields.List(fields.Nested(DecisionSchema), metadata={
        "description": "Every signed decision, oldest first; the last one stands (earlier ones were amended)."})
    flag_reviews = fields.List(fields.Nested(FlagReviewSchema), metadata={
        "description": "Every acknowledgement and override, oldest first, with the reason."})
    plan_edits = fields.List(fields.Nested(PlanEditSchema), metadata={
        "description": "Every change a practitioner made to the suggested plan, oldest first."})


class IntakePageSchema(Schema):
    items = fields.List(fields.Nested(IntakeSummarySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class ErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(metadata={"description": "Field name → messages, nested as in the request."})
