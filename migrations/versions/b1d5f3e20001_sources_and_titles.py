"""sources and titles in stored ruleset versions; an index for the override report

Rule files now cite sources by id from the layer's sources.yaml, and every rule has a
title. Versions stored before cite the older numbering ("S10") and have no titles, so they
would no longer load, and the clinic's active rules would silently fall back to the
folders. This revision brings each stored version forward, as text, so comments and
layout stay as the clinic wrote them:

- every "S10" in a ``source: [...]`` list becomes the ids it stands for (LEGACY_SOURCE_IDS);
- every rule without a title gets one: the shipped rule's title for a rule the clinic kept,
  else its id in words ("alcohol-before-appointment" → "Alcohol before appointment");
- a version with no sources.yaml in any layer gets the shipped one in its first layer.

Each version's hash is recomputed from its new files. A version that still does not load
is left with its new files and its old hash; the admin pages show its errors.

Also: the index on flag_review (assessment_id, rule_id) gains id, so the override report finds
the latest review of each flag without sorting every review.

Revision ID: b1d5f3e20001
Revises: a9c4e2d10001
Create Date: 2026-12-06 17:00:00

"""
import json
import re
from pathlib import Path

import sqlalchemy as sa
import yaml
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b1d5f3e20001'
down_revision = 'a9c4e2d10001'
branch_labels = None
depends_on = None

SHIPPED = Path(__file__).resolve().parents[2] / "rules"
NOT_RULES = {"medications.yaml", "protocols.yaml", "sources.yaml"}
SOURCE_LIST = re.compile(r"^(?P<key>[ \t]*(?:-[ \t]+)?[A-Za-z_]*source[ \t]*:[ \t]*)\[(?P<items>[^\]\n]*)\]", re.M)
RULE_START = re.compile(r"^- id:[ \t]*['\"]?(?P<id>[\w.-]+)['\"]?[ \t]*$", re.M)
TITLE_KEY = re.compile(r"^  title:", re.M)


def shipped_titles() -> dict[str, str]:
    titles = {}
    for path in sorted((SHIPPED / "precautions").glob("*.yaml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if isinstance(rule, dict) and rule.get("id") and rule.get("title"):
                titles[str(rule["id"])] = str(rule["title"])
    return titles


def id_in_words(rule_id: str) -> str:
    words = rule_id.replace("-", " ").replace("_", " ").strip()
    return (words[:1].upper() + words[1:])[:80] or rule_id


def cite_by_id(text: str, legacy: dict[str, tuple[str, ...]]) -> str:
    def replace(match: re.Match) -> str:
        found: list[str] = []
        for item in match.group("items").split(","):
            item = item.strip()
            for new in legacy.get(item, (item,) if item else ()):
                if new not in found:
                    found.append(new)
        return f"{match.group('key')}[{', '.join(found)}]"

    return SOURCE_LIST.sub(replace, text)


def add_titles(text: str, titles: dict[str, str]) -> str:
    starts = list(RULE_START.finditer(text))
    if not starts:
        return text
    pieces = [text[:starts[0].start()]]
    for number, start in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(text)
        block = text[start.start():end]
        if not TITLE_KEY.search(block):
            line_end = block.index("\n") + 1 if "\n" in block else len(block)
            title = titles.get(start.group("id")) or id_in_words(start.group("id"))
            block = f"{block[:line_end]}  title: {json.dumps(title, ensure_ascii=False)}\n{block[line_end:]}"
        pieces.append(block)
    return "".join(pieces)


def bring_forward(files: dict, legacy: dict[str, tuple[str, ...]], titles: dict[str, str]) -> dict:
    layers = []
    for layer in files.get("layers") or []:
        new_files = {}
        for path, text in (layer.get("files") or {}).items():
            if isinstance(text, str) and path.endswith((".yaml", ".yml")) and not path.startswith("tests/"):
                text = cite_by_id(text, legacy)
                if Path(path).name not in NOT_RULES:
                    text = add_titles(text, titles)
            new_files[path] = text
        layers.append({**layer, "files": new_files})
    if layers and not any("sources.yaml" in layer["files"] for layer in layers):
        layers[0]["files"]["sources.yaml"] = (SHIPPED / "sources.yaml").read_text(encoding="utf-8")
    return {**files, "layers": layers}


def upgrade():
    with op.batch_alter_table('flag_review', schema=None) as batch_op:
        batch_op.drop_index('ix_flag_review_assessment_rule')
        batch_op.create_index('ix_flag_review_latest', ['assessment_id', 'rule_id', 'id'], unique=False)

    from intake.assessment.sources import LEGACY_SOURCE_IDS
    from intake.rulesets.files import load_files

    bind = op.get_bind()
    version = sa.table('ruleset_version', sa.column('id', sa.Integer), sa.column('files', sa.JSON),
                       sa.column('hash', sa.String))
    titles = shipped_titles()
    for version_id, files, old_hash in bind.execute(sa.select(version.c.id, version.c.files, version.c.hash)).all():
        files = json.loads(files) if isinstance(files, str) else files
        if not isinstance(files, dict):
            continue
        new_files = bring_forward(files, dict(LEGACY_SOURCE_IDS), titles)
        if new_files == files:
            continue
        try:
            new_hash = load_files(new_files).version
        except Exception:  # still invalid: the admin pages show why; nosec B110 # kept as found
            new_hash = old_hash
        bind.execute(sa.update(version).where(version.c.id == version_id).values(files=new_files, hash=new_hash))


def downgrade():
    # The stored versions keep their titles and ids: the older code ignores neither well, but
    # they were brought forward as text and cannot be told apart from a clinic's own edits.
    with op.batch_alter_table('flag_review', schema=None) as batch_op:
        batch_op.drop_index('ix_flag_review_latest')
        batch_op.create_index('ix_flag_review_assessment_rule', ['assessment_id', 'rule_id'], unique=False)
