"""`flask rules check | test | explain`, through the app's CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from intake import create_app
from intake.rulesets import cli as rules_cli

from .support import BASES, GOOD, PASSING, document, make_rules
from .support import ENGINE_RULES as RULES


@pytest.fixture
def rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = make_rules(Path("rules"))
    (root / "tests").mkdir()
    (root / "tests" / "bases.yaml").write_text(BASES)
    # The engine tests' rules also flag info rules: expect what the cases are about, not every flag.
    cases = PASSING.replace("    flags: []\n", "").replace(
        "flags: [anticoagulant]", "flags_include: [anticoagulant]"
    )
    (root / "tests" / "cases.yaml").write_text(cases)
    return root


@pytest.fixture
def app(rules_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("SECRET_KEY", "a-test-secret-key-that-is-long-enough-0123456789")
    # `flask rules` is a plugin that runs without building the app: it reads the environment.
    monkeypatch.setenv("RULES_DIR", str(rules_dir))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "RULES_DIR": str(rules_dir),
        }
    )
    if "rules" not in app.cli.commands:
        app.cli.add_command(rules_cli.rules)
    return app


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def test_check_the_configured_rules(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["rules", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rules: 12 rules, 2 medication classes, version ")


def test_check_prints_every_error_with_its_place_and_fails(runner: FlaskCliRunner, tmp_path: Path) -> None:
    broken = make_rules(
        tmp_path / "broken",
        GOOD.replace("severity: defer", "severity: later").replace("health.pregnant", "health.pregant"),
    )
    result = runner.invoke(args=["rules", "check", str(broken)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:2] == [
        f"{broken}/precautions/main.yaml:2:13 [rule pregnancy]: 'severity' must be one of: info, precaution, "
        "defer, contraindicated",
        f"{broken}/precautions/main.yaml:4:12 [rule pregnancy]: unknown field 'health.pregant' "
        "(did you mean 'health.pregnant'?)",
    ]
    assert lines[2] == f"{broken}: 2 error(s)"


def test_test_runs_the_cases_and_reports_coverage(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["rules", "test"])
    assert result.exit_code == 0, result.output
    assert "3 of 3 cases passed" in result.output
    assert "Rules no case fires: " in result.output


def test_test_fails_below_the_minimum_coverage(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["rules", "test", "--min-coverage", "100"])
    assert result.exit_code == 1
    assert "is below the minimum 100%" in result.output


def test_test_a_single_case_file(runner: FlaskCliRunner, rules_dir: Path) -> None:
    (rules_dir / "tests" / "failing.yaml").write_text(
        "- name: wrong\n  on: 2026-11-25\n  answers: base\n  expect: {outcome: defer}\n"
    )
    result = runner.invoke(args=["rules", "test", str(rules_dir / "tests" / "failing.yaml")])
    assert result.exit_code == 1
    assert result.output.startswith(
        "FAIL rules/tests/failing.yaml:1 wrong\n  outcome: expected defer, got suitable\n"
    )
    assert "0 of 1 cases passed" in result.output


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(document(lifestyle__alcohol_drinks_per_week=4)))
    return path


def test_explain_as_text(runner: FlaskCliRunner, answers_file: Path) -> None:
    result = runner.invoke(args=["rules", "explain", str(answers_file), "--on", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Outcome: precaution (assessed on 2026-11-25)\n")
    assert "[precaution] Alcohol (alcohol) — precautions/main.yaml:25\n" in result.output


def test_explain_as_json(runner: FlaskCliRunner, answers_file: Path) -> None:
    result = runner.invoke(
        args=["rules", "explain", str(answers_file), "--on", "2026-11-25", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["outcome"] == "precaution"
    assert data["flags"][0]["rule_id"] == "alcohol"


def test_explain_why_not(runner: FlaskCliRunner, answers_file: Path) -> None:
    result = runner.invoke(
        args=["rules", "explain", str(answers_file), "--on", "2026-11-25", "--why-not", "unwell"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.endswith("✗ health.recent_illness equals true — answer: false\n")
    as_json = runner.invoke(
        args=[
            "rules",
            "explain",
            str(answers_file),
            "--on",
            "2026-11-25",
            "--why-not",
            "unwell",
            "--format",
            "json",
        ]
    )
    assert json.loads(as_json.output)["condition"]["answer"] == "false"


def test_explain_refuses_invalid_answers_and_unknown_rules(
    runner: FlaskCliRunner, tmp_path: Path, answers_file: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document(about__sex="robot")))
    result = runner.invoke(args=["rules", "explain", str(bad), "--on", "2026-11-25"])
    assert result.exit_code == 1
    assert f"{bad}: about.sex: Choose one of the options given." in result.output
    unknown = runner.invoke(
        args=["rules", "explain", str(answers_file), "--on", "2026-11-25", "--why-not", "nope"]
    )
    assert unknown.exit_code == 1
    assert "no rule 'nope'" in unknown.output
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    result = runner.invoke(args=["rules", "explain", str(not_json), "--on", "2026-11-25"])
    assert result.exit_code == 1
    assert "not JSON" in result.output


def test_check_runs_when_the_app_cannot_start(rules_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner
    from flask.cli import FlaskGroup

    broken = make_rules(Path("broken"), RULES + """
- id: typo
  title: Typo
  severity: info
  when: {field: health.pregnantt, equals: true}
  message: m
  source: [azpmu-mesotherapy-pre-post-care]
""")
    monkeypatch.setenv("RULES_DIR", str(broken))

    def refuse_to_build() -> Flask:
        raise AssertionError("the app was built for `flask rules`")

    cli = FlaskGroup(create_app=refuse_to_build)
    result = CliRunner().invoke(cli, ["rules", "check"])
    assert result.exit_code == 1
    assert "unknown field 'health.pregnantt' (did you mean 'health.pregnant'?)" in result.output
