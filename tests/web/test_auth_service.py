"""Staff accounts and sign-in decisions, on both database backends."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from intake import clock
from intake.auth import queries, service
from intake.auth.access import safe_next
from intake.auth.queries import load_staff_user
from intake.auth.service import AccountError, SignInFailure, SignInRefused
from intake.clock import as_utc
from intake.config import build_config
from intake.extensions import db
from intake.models import AuditEntry, StaffUser

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def user(ctx) -> StaffUser:
    return service.create_user("Pat@Demo.Clinic ", "Pat Practitioner", "practitioner", PASSWORD)


def actions() -> list[str]:
    return [entry.action for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- creating and changing accounts


def test_create_user_stores_a_lowercased_email_and_an_argon2_hash(user):
    assert user.email == "pat@demo.clinic"
    assert user.display_name == "Pat Practitioner"
    assert user.role == "practitioner"
    assert user.active and user.is_active
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.intake_id) == ("system", "staff.created", None)
    assert entry.data == {"staff_user_id": user.id, "email": "pat@demo.clinic", "role": "practitioner"}


@pytest.mark.parametrize(
    ("email", "name", "role", "password", "message"),
    [
        ("PAT@demo.clinic", "Someone", "admin", PASSWORD, "already exists"),
        ("new@demo.clinic", "Someone", "practitioner", "elevenchars", "at least 12 characters"),
        ("new@demo.clinic", "Someone", "owner", PASSWORD, "role must be one of"),
        ("not an email", "Someone", "admin", PASSWORD, "not a valid email address"),
        ("new@demo.clinic", "   ", "admin", PASSWORD, "name must have"),
    ],
)
def test_create_user_refuses_what_is_not_acceptable(user, email, name, role, password, message):
    with pytest.raises(AccountError, match=message):
        service.create_user(email, name, role, password)
    assert len(queries.list_users()) == 1


def test_a_twelve_character_password_is_enough(ctx):
    assert service.create_user("a@demo.clinic", "A", "admin", "x" * 12).is_admin


def test_find_user_ignores_case_and_spaces(user):
    assert service.find_user("  PAT@DEMO.CLINIC") == user
    assert service.find_user("other@demo.clinic") is None


def test_set_password_replaces_it_lifts_a_lock_and_ends_other_sessions(user):
    old_session_id = user.get_id()
    for _ in range(5):
        service.authenticate("pat@demo.clinic", "wrong", T0)
    assert service.authenticate("pat@demo.clinic", PASSWORD, T0).reason is SignInFailure.LOCKED
    service.set_password(user, "a brand new passphrase", actor=f"staff:{user.id}")
    assert service.authenticate("pat@demo.clinic", "a brand new passphrase", T0) == user
    assert isinstance(service.authenticate("pat@demo.clinic", PASSWORD, T0), SignInRefused)
    assert load_staff_user(old_session_id) is None
    assert load_staff_user(user.get_id()) == user
    assert "staff.password_set" in actions()


def test_set_password_keeps_the_length_rule(user):
    with pytest.raises(AccountError, match="at least 12"):
        service.set_password(user, "short")


def test_deactivate_once(user):
    service.deactivate(user)
    assert not user.is_active
    with pytest.raises(AccountError, match="already deactivated"):
        service.deactivate(user)
    assert actions() == ["staff.created", "staff.deactivated"]


def test_the_session_loader_refuses_malformed_ids(user):
    for session_id in ("", "abc", f"{user.id}", f"{user.id}.x", f"{user.id}.7", "999.0"):
        assert load_staff_user(session_id) is None


# --- signing in


def test_authenticate_returns_the_user_and_records_the_sign_in(user):
    result = service.authenticate(" PAT@demo.clinic", PASSWORD, T0, ip="192.0.2.7")
    assert result == user
    assert as_utc(user.last_login_at) == T0
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.signed_in")).one()
    assert entry.actor == f"staff:{user.id}"
    assert entry.data["ip"] == "192.0.2.7"


def test_a_wrong_password_and_an_unknown_email_are_refused_alike(user):
    wrong = service.authenticate("pat@demo.clinic", "not the password", T0)
    unknown = service.authenticate("nobody@demo.clinic", PASSWORD, T0)
    assert wrong == unknown == SignInRefused(SignInFailure.BAD_CREDENTIALS)
    failures = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.sign_in_failed")).all()
    assert [entry.data["email"] for entry in failures] == ["pat@demo.clinic", "nobody@demo.clinic"]
    assert {entry.actor for entry in failures} == {"anonymous"}


def test_a_failed_sign_in_keeps_no_typed_text_that_is_not_an_email_address(ctx):
    service.authenticate("MySecretPassw0rd", "MySecretPassw0rd", T0)
    entry = db.session.scalars(select(AuditEntry)).one()
    assert entry.data["email"] is None
    assert "MySecretPassw0rd" not in str(entry.data) + entry.summary


def test_five_failures_in_a_row_from_one_address_refuse_it_for_fifteen_minutes(user):
    for attempt in range(1, 5):
        moment = T0 + dt.timedelta(seconds=attempt)
        assert (
            service.authenticate("pat@demo.clinic", "wrong", moment).reason is SignInFailure.BAD_CREDENTIALS
        )
    fifth = T0 + dt.timedelta(seconds=5)
    locked = service.authenticate("pat@demo.clinic", "wrong", fifth)
    assert locked == SignInRefused(SignInFailure.LOCKED, fifth + dt.timedelta(minutes=15))
    assert actions().count("auth.sign_in_throttled") == 1

    # Even the right password is refused until the time has passed.
    almost = fifth + dt.timedelta(minutes=15) - dt.timedelta(seconds=1)
    assert service.authenticate("pat@demo.clinic", PASSWORD, almost).reason is SignInFailure.LOCKED
    assert service.authenticate("pat@demo.clinic", PASSWORD, fifth + dt.timedelta(minutes=15)) == user
    # From another address the right password was never refused.
    assert service.authenticate("pat@demo.clinic", PASSWORD, almost, ip="192.0.2.50") == user


def test_only_consecutive_failures_count(user):
    for _ in range(4):
        service.authenticate("pat@demo.clinic", "wrong", T0)
    assert service.authenticate("pat@demo.clinic", PASSWORD, T0) == user
    for _ in range(4):
        service.authenticate("pat@demo.clinic", "wrong", T0)
    assert service.authenticate("pat@demo.clinic", PASSWORD, T0) == user


def test_after_a_lock_expires_there_are_five_fresh_attempts(user):
    for _ in range(5):
        service.authenticate("pat@demo.clinic", "wrong", T0)
    later = T0 + dt.timedelta(minutes=16)
    assert service.authenticate("pat@demo.clinic", "wrong", later).reason is SignInFailure.BAD_CREDENTIALS


def test_a_deactivated_account_is_told_so_only_with_the_right_password(user):
    service.deactivate(user)
    assert service.authenticate("pat@demo.clinic", PASSWORD, T0).reason is SignInFailure.DEACTIVATED
    assert service.authenticate("pat@demo.clinic", "wrong", T0).reason is SignInFailure.BAD_CREDENTIALS


def test_an_oversized_password_is_refused_without_hashing_it(user):
    refused = service.authenticate("pat@demo.clinic", "x" * (service.MAX_PASSWORD_LENGTH + 1), T0)
    assert refused.reason is SignInFailure.BAD_CREDENTIALS


def test_a_hash_made_with_old_parameters_is_upgraded_at_sign_in(user):
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    db.session.commit()
    assert service.authenticate("pat@demo.clinic", PASSWORD, T0) == user
    db.session.refresh(user)
    assert not PasswordHasher().check_needs_rehash(user.password_hash)
    assert service.authenticate("pat@demo.clinic", PASSWORD, T0) == user


def test_record_sign_out(user):
    service.record_sign_out(user, "inactive")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.signed_out")).one()
    assert entry.actor == f"staff:{user.id}"
    assert entry.data["reason"] == "inactive"
    assert "inactivity" in entry.summary


def test_now_is_pinned_by_the_now_setting(app):
    with app.app_context():
        app.config["NOW"] = T0
        assert clock.now() == T0
        app.config["NOW"] = None
        assert clock.now().tzinfo is not None


# --- plain helpers, no database


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/staff/", "/staff/"),
        ("/staff/?page=2&status=flagged", "/staff/?page=2&status=flagged"),
        ("https://evil.example/", None),
        ("//evil.example/path", None),
        ("/\\evil.example", None),
        ("/\t/evil.example", None),
        ("javascript:alert(1)", None),
        ("staff/", None),
        ("", None),
        (None, None),
        ("/" + "a" * 3000, None),
    ],
)
def test_safe_next_only_follows_paths_on_this_site(target, followed):
    assert safe_next(target) == followed


def test_staff_session_minutes_sets_the_inactivity_lifetime(tmp_path):
    assert build_config(tmp_path, {})["STAFF_SESSION_LIFETIME"] == dt.timedelta(minutes=30)
    config = build_config(tmp_path, {"STAFF_SESSION_MINUTES": "10", "RATELIMIT_STORAGE_URI": "redis://cache"})
    assert config["STAFF_SESSION_LIFETIME"] == dt.timedelta(minutes=10)
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache"
