"""Print how a change to the rules moves outcomes: the demo intakes and generated realistic ones.

Run from the repo root, naming the commit whose rules/ folder to compare with:

    .venv/bin/python bench/outcome_shift.py --before REF [--count 10000] [--seed 7]

Both rule sets assess the same documents on the same day (the demo's on the clinic's demo
date, the generated ones on bench_rules.ON). It prints the outcome distribution before and
after, then for each rule how many intakes gained or lost it, so a rule change is judged
by what it does to real-looking patients, not only by its rule tests. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_rules import ON, make_intakes  # noqa: E402

from intake.answers import load_answers  # noqa: E402
from intake.assessment import OUTCOMES, Ruleset, assess, load_ruleset  # noqa: E402
from intake.demo.intakes import demo_documents  # noqa: E402

DEMO_DAY = ON


def rules_at(ref: str, into: Path) -> Path:
    """The rules/ folder as it was at ``ref``, extracted under ``into``."""
    archive = subprocess.run(["git", "archive", ref, "rules"], cwd=ROOT, check=True,  # noqa: S603, S607
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "rules"


def flags_of(ruleset: Ruleset, answers: dict[str, Any], on: Any) -> tuple[str, frozenset[str]]:
    assessment = assess(answers, ruleset, on)
    return assessment.outcome, frozenset(f.rule_id for f in assessment.flags if f.severity != "info")


def compare(label: str, documents: list[dict[str, Any]], before: Ruleset, after: Ruleset, on: Any) -> None:
    outcomes_before: Counter[str] = Counter()
    outcomes_after: Counter[str] = Counter()
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    moved: Counter[tuple[str, str]] = Counter()
    for answers in documents:
        old_outcome, old_flags = flags_of(before, answers, on)
        new_outcome, new_flags = flags_of(after, answers, on)
        outcomes_before[old_outcome] += 1
        outcomes_after[new_outcome] += 1
        gained.update(new_flags - old_flags)
        lost.update(old_flags - new_flags)
        if old_outcome != new_outcome:
            moved[(old_outcome, new_outcome)] += 1
    print(f"\n{label}: {len(documents):,} intakes")
    print(f"{'outcome':<18} {'before':>8} {'after':>8}")
    for outcome in OUTCOMES:
        print(f"{outcome:<18} {outcomes_before[outcome]:>8,} {outcomes_after[outcome]:>8,}")
    print("flags to review (info items aside) lost / gained, by rule:")
    for rule_id in sorted(set(gained) | set(lost)):
        print(f"  {rule_id:<32} lost {lost[rule_id]:>6,}   gained {gained[rule_id]:>6,}")
    print("outcomes that moved:")
    for (old, new), number in sorted(moved.items(), key=lambda item: -item[1]):
        print(f"  {old} -> {new}: {number:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a commit (its rules/ folder is the 'before')")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        before = load_ruleset([rules_at(options.before, Path(folder))])
        after = load_ruleset([ROOT / "rules"])
        demo = [load_answers(document, today=DEMO_DAY) for document in demo_documents(DEMO_DAY)]
        compare("demo clinic", demo, before, after, DEMO_DAY)
        compare("generated (bench_rules.make_intakes)", make_intakes(options.count, options.seed), before, after, ON)


if __name__ == "__main__":
    main()
