"""The database models, one registry: importing this package makes every table known.

Alembic (migrations/) and ``db.create_all`` see the tables of the models imported here;
a new model module is added to this list. Model modules import each other by their own
module (``from .intake import Intake``), never through this package, so there is no cycle.
"""

from __future__ import annotations

from .api import ApiToken
from .audit import AuditEntry
from .clinic import ClinicProfile
from .intake import (
    Assessment,
    CheckIn,
    Intake,
    IntakeStatus,
    ReviewStatus,
    RuleTally,
    SearchTerm,
    hash_token,
    new_check_in_code,
    new_token,
    normalise_code,
    queue_sort_key,
    severity_band,
)
from .outbox import OutboxMessage, OutboxState
from .photo import Photo, PhotoBlob, PhotoKind
from .reminder import Reminder, ReminderStatus, SavedReminderSettings
from .review import (
    APPROVALS,
    Decision,
    FlagAction,
    FlagReview,
    Notification,
    NotificationStatus,
    Outcome,
    PlanEdit,
)
from .rulesets import PreviewChunk, PreviewRun, ReassessRun, RulesetActivation, RulesetVersion
from .staff import Role, SignInThrottle, StaffSession, StaffUser

__all__ = [
    "APPROVALS",
    "ApiToken",
    "Assessment",
    "AuditEntry",
    "CheckIn",
    "ClinicProfile",
    "Decision",
    "FlagAction",
    "FlagReview",
    "Intake",
    "IntakeStatus",
    "Notification",
    "NotificationStatus",
    "Outcome",
    "Photo",
    "PhotoBlob",
    "PhotoKind",
    "OutboxMessage",
    "OutboxState",
    "PlanEdit",
    "PreviewChunk",
    "PreviewRun",
    "ReassessRun",
    "Reminder",
    "ReminderStatus",
    "ReviewStatus",
    "SavedReminderSettings",
    "Role",
    "RuleTally",
    "RulesetActivation",
    "RulesetVersion",
    "SearchTerm",
    "SignInThrottle",
    "StaffSession",
    "StaffUser",
    "hash_token",
    "new_check_in_code",
    "normalise_code",
    "new_token",
    "queue_sort_key",
    "severity_band",
]
