"""`flask rules …`: check, test and explain the rule files from the command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import click
from babel.support import Translations
from flask import current_app, has_app_context
from flask.cli import with_appcontext
from marshmallow import ValidationError

from ..answers import form_questions, load_answers
from ..assessment import Ruleset, RulesetInvalid, assess, load_ruleset
from ..assessment.explain import explain as explain_text
from ..assessment.explain import why_not, why_not_tree
from ..assessment.lint import lint
from ..assessment.ruletests import run_rule_tests
from ..config import PSEUDO_LOCALES, babel_locale, translation_directories
from . import parallel_preview
from .active import active_ruleset
from .files import folders_snapshot
from .folders import configured_folders, default_layers
from .past_intakes import count_past_intakes, preview_past_intakes

# A plain click group, registered as a `flask.commands` plugin (pyproject.toml): Flask
# finds it without building the app, so `flask rules check` still runs, and reports every
# error, when the rules are so broken that the app itself refuses to start.
rules = click.Group("rules", help="Check, test and explain the rule files.")


def _configured_root() -> Path | list[Path]:
    """The rules in force: the app's RULES_DIRS/RULES_DIR inside an app, else the environment's or the default.

    One folder as a Path; layered folders (RULES_DIRS, defaults first) as a list.
    """
    folders = configured_folders(current_app.config if has_app_context() else os.environ)
    return folders[0] if len(folders) == 1 else folders


def _name(root: Path | list[Path]) -> str:
    return os.pathsep.join(str(f) for f in root) if isinstance(root, list) else str(root)


def _load(root: Path | list[Path]) -> Ruleset | None:
    """The ruleset of ``root`` (one folder or layered folders), or None after printing every error."""
    try:
        return load_ruleset(root)
    except RulesetInvalid as invalid:
        for error in invalid.errors:
            click.echo(str(error))
        click.echo(f"{_name(root)}: {len(invalid.errors)} error(s)", err=True)
        return None


@rules.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def check(paths: Sequence[Path]) -> None:
    """Check rule folders (default: the configured RULES_DIR); print every error."""
    failed = False
    roots: Sequence[Path | list[Path]] = paths or (_configured_root(),)
    for root in roots:
        ruleset = _load(root)
        if ruleset is None:
            failed = True
            continue
        classes = len(ruleset.lexicon.classes) if ruleset.lexicon is not None else 0
        allergens = ruleset.catalogue.allergens
        click.echo(f"{_name(root)}: {len(ruleset.rules)} rules, {classes} medication classes, "
                   f"{f'{len(allergens.classes)} allergen classes, ' if allergens is not None else ''}"
                   f"{'protocols, ' if ruleset.protocols is not None else ''}version {ruleset.version[:12]}")
    if failed:
        raise click.exceptions.Exit(1)


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None,
              help="Fail below this percentage of condition branches seen true and false.")
def test(paths: Sequence[Path], min_coverage: float | None) -> None:
    """Run the rule tests of rule folders or of single test files (default: RULES_DIR)."""
    # A test file belongs to the ruleset of the folder above its tests/ folder.
    selected: dict[Path | tuple[Path, ...], list[Path] | None] = {}
    if not paths:
        configured = _configured_root()
        selected[tuple(configured) if isinstance(configured, list) else configured] = None
    for path in paths:
        if path.is_dir():
            selected[path] = None
        else:
            root = path.parent.parent
            files = selected.setdefault(root, [])
            if files is not None:
                files.append(path)
    failed = False
    for folders, files in selected.items():
        ruleset = _load(list(folders) if isinstance(folders, tuple) else folders)
        if ruleset is None:
            failed = True
            continue
        report = run_rule_tests(ruleset, files, min_coverage=min_coverage)
        click.echo(report.format(), nl=False)
        failed = failed or not report.ok
    if failed:
        raise click.exceptions.Exit(1)


@rules.command("explain")
@click.argument("answers_file", metavar="ANSWERS.json", type=click.File("r", encoding="utf-8"))
@click.option("--on", "on", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The date of the assessment (YYYY-MM-DD).")
@click.option("--why-not", "rule_id", default=None, metavar="RULE",
              help="Show the condition of this rule, node by node, with the answers it read.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--rules", "root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The rules folder (default: RULES_DIR).")
def explain(
    answers_file: IO[str], on: dt.datetime, rule_id: str | None, output: str, root: Path | None
) -> None:
    """Assess an answers document and explain every flag (or why one rule did not fire)."""
    ruleset = _load(root or _configured_root())
    if ruleset is None:
        raise click.exceptions.Exit(1)
    try:
        document: Any = json.load(answers_file)
    except json.JSONDecodeError as error:
        where = f"{answers_file.name}:{error.lineno}:{error.colno}"
        raise click.ClickException(f"{where}: not JSON: {error.msg}") from None
    if not isinstance(document, dict):
        raise click.ClickException(f"{answers_file.name}: expected an answers document (a JSON object)")
    try:
        answers = load_answers(document)
    except ValidationError as invalid:
        for path, message in _flatten(invalid.messages):
            click.echo(f"{answers_file.name}: {'.'.join(path)}: {message}")
        raise click.exceptions.Exit(1) from None
    day = on.date()
    if rule_id is not None:
        if rule_id not in ruleset:
            raise click.ClickException(f"no rule '{rule_id}' in {ruleset.root}")
        if output == "json":
            click.echo(json.dumps(why_not_tree(rule_id, answers, ruleset, day), indent=2, ensure_ascii=False))
        else:
            click.echo(why_not(rule_id, answers, ruleset, day), nl=False)
        return
    assessment = assess(answers, ruleset, day)
    if output == "json":
        click.echo(json.dumps(assessment.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(explain_text(assessment), nl=False)


def _flatten(messages: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(messages, dict):
        return [item for key, inner in messages.items()
                for item in _flatten(inner, path if key == "_schema" else (*path, str(key)))]
    if isinstance(messages, list):
        return [item for message in messages for item in _flatten(message, path)]
    return [(path, str(messages))]


@rules.command("show")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def show(paths: Sequence[Path]) -> None:
    """Print the effective ruleset of layered folders (default: RULES_DIRS), with each rule's origin."""
    root = list(paths) if paths else _configured_root()
    ruleset = _load(root)
    if ruleset is None:
        raise click.exceptions.Exit(1)
    folders = ruleset.roots
    click.echo(f"Folders (defaults first): {', '.join(str(f) for f in folders)}")
    click.echo(f"Version {ruleset.version[:12]}: {len(ruleset.rules)} rules")
    for rule in ruleset.rules:
        origin = f"{rule.folder or ruleset.root}/{rule.file}:{rule.line}"
        mark = " (override)" if rule.override else ""
        click.echo(f"  {rule.id:<32} {rule.severity:<16} {origin}{mark}")
    for note in ruleset.notes:
        if note.action == "disable":
            click.echo(f"  disabled {note.rule_id} by {note.folder}/{note.file}:{note.line}")
        elif note.action == "override":
            click.echo(f"  override of {note.rule_id} replaces {note.replaced}")
    if ruleset.lexicon is not None:
        click.echo(f"Medication classes: {len(ruleset.lexicon.classes)}")
    if ruleset.catalogue.allergens is not None:
        click.echo(f"Allergen classes: {len(ruleset.catalogue.allergens.classes)}")
    if ruleset.protocols is not None:
        click.echo(f"Protocols from: {_protocols_origin(ruleset)}")


def _catalogs(root: Path | list[Path]) -> dict[str, Callable[[str], bool]]:
    """For each offered language but the default (LANGUAGES; not the pseudo-locale): whether its
    catalogs (the app's, then each rule folder's ``translations``) translate a text."""
    config: Any = current_app.config if has_app_context() else {
        "LANGUAGES": [t.strip() for t in os.environ.get("LANGUAGES", "en").split(",") if t.strip()],
        "BABEL_DEFAULT_LOCALE": os.environ.get("BABEL_DEFAULT_LOCALE", "en")}
    folders = [str(f) for f in (root if isinstance(root, list) else [root])]
    directories = translation_directories(folders)
    catalogs: dict[str, Callable[[str], bool]] = {}
    for tag in config["LANGUAGES"]:
        if tag in PSEUDO_LOCALES or tag == config["BABEL_DEFAULT_LOCALE"]:
            continue
        catalogs[tag] = _translates([Translations.load(directory, [babel_locale(tag)]) for directory in directories])
    return catalogs


def _translates(loaded: list[Any]) -> Callable[[str], bool]:
    def translates(text: str) -> bool:
        return any(t.gettext(text) != text for t in loaded)

    return translates


def _protocols_origin(ruleset: Ruleset) -> str:
    having = [folder for folder in ruleset.roots if (folder / "protocols.yaml").is_file()]
    return str(having[-1] / "protocols.yaml") if having else "-"


@rules.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-info", is_flag=True, help="Leave out the info findings (form questions no rule reads).")
def lint_command(paths: Sequence[Path], no_info: bool) -> None:
    """Lint layered folders (default: RULES_DIRS): exits 1 on any error finding."""
    root = list(paths) if paths else _configured_root()
    ruleset = _load(root)
    if ruleset is None:
        raise click.exceptions.Exit(1)
    findings = lint(ruleset, form_questions(), catalogs=_catalogs(root))
    shown = [f for f in findings if not (no_info and f.level == "info")]
    for finding in shown:
        click.echo(str(finding))
    counts = {level: sum(1 for f in findings if f.level == level) for level in ("error", "warning", "info")}
    click.echo(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info")
    if counts["error"]:
        raise click.exceptions.Exit(1)


@rules.command("preview")
@click.argument("candidate", metavar="CANDIDATE_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Intakes submitted on or after this day (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Intakes submitted on or before this day (YYYY-MM-DD).")
@click.option("--last", type=click.IntRange(min=1), default=None, help="Only the last N submitted intakes.")
@click.option("--alone", is_flag=True,
              help="CANDIDATE_DIR is a complete ruleset (default: a clinic folder over the default folders).")
@click.option("--rows", type=click.IntRange(min=0), default=50, show_default=True,
              help="How many changed intakes to list.")
@click.option("--chunks", type=click.IntRange(min=0), default=0, show_default=True,
              help="Split the intakes in this many chunks run by the job workers (docs/jobs.md); 0: in this process.")
@with_appcontext
def preview_command(  # noqa: PLR0913 - one parameter per option
    candidate: Path, since: dt.datetime | None, until: dt.datetime | None, last: int | None, alone: bool, rows: int,
    chunks: int,
) -> None:
    """Preview CANDIDATE_DIR against the active rules on past intakes: outcomes before → after, flags per rule."""
    if since is None and until is None and last is None:
        raise click.UsageError("give --since DATE, --until DATE or --last N")
    # The configured clinic folder is what the candidate replaces.
    folders: Path | list[Path] = candidate if alone else [*default_layers(current_app.config), candidate]
    ruleset = _load(folders)
    if ruleset is None:
        raise click.exceptions.Exit(1)
    day = {name: value.date() if value else None for name, value in (("since", since), ("until", until))}
    total = count_past_intakes(last, day["since"], day["until"])
    with click.progressbar(length=total, label="Assessing past intakes", file=sys.stderr,
                           show_pos=True) as bar:
        if chunks:
            candidate_files = folders_snapshot(folders if isinstance(folders, list) else [folders])
            run_id = parallel_preview.start(parallel_preview.rules_in_force(), candidate_files, chunks=chunks,
                                            last=last, since=day["since"], until=day["until"], max_rows=rows)
            seen = [0]

            def show(done: int, _total: int) -> None:
                bar.update(done - seen[0])
                seen[0] = done

            status = parallel_preview.wait(run_id, on_progress=show)
            if status != "done":
                raise click.ClickException(f"the preview's chunks did not all finish: {status}")
            result = parallel_preview.merged(run_id)
        else:
            current = active_ruleset().ruleset
            result = preview_past_intakes(current, ruleset, last, day["since"], day["until"], max_rows=rows,
                                          progress=bar.update)
    click.echo(f"{result.total} intakes: {result.changed_count} change, {result.outcome_changed} in outcome")
    for (before, after), count in sorted(result.transitions.items()):
        click.echo(f"  {before} -> {after}: {count}")
    for change in result.changes:
        flags = " ".join([f"+{rule}" for rule in change.added] + [f"-{rule}" for rule in change.removed])
        click.echo(f"  #{change.id} {change.label}: {change.before} -> {change.after} {flags}".rstrip())
    click.echo("Per rule (intakes flagged before -> after):")
    for total_row in result.rule_totals():
        if total_row.added or total_row.removed:
            click.echo(f"  {total_row.rule_id}: {total_row.before} -> {total_row.after} "
                       f"(+{total_row.added} -{total_row.removed})")
    if result.skipped:
        click.echo(f"{len(result.skipped)} intake(s) skipped: their stored answers no longer load")
