"""Print how fast the medication lexicon matches typed medication answers.

Run from the repo root:  .venv/bin/python bench/bench_medications.py [--lines N]

Figures, not assertions (DESIGN.md: speed is measured by benchmarks, never by timed
tests). Workloads over a few thousand varied lines built from the real lexicon:

- cold: a fresh lexicon sees every line for the first time (exact names, typos that
  need rapidfuzz, multi-drug lines, negations, unknown medicines);
- unique exact: every line is different text (doses vary) but names are spelt right,
  so the per-line cache misses and the per-fragment cache does the work;
- one name + dose: the commonest answer ("Eliquis 5mg tablets"), each line unique;
- repeated: the same lines again, as when many patients type "none" or "Eliquis 5mg".
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake.assessment.medications import Lexicon  # noqa: E402

LEXICON_PATH = ROOT / "rules" / "medications.yaml"

DOSES = ["", "5mg", "20 mg", "2.5mg", "400mg", "75 mg", "1000mg", "400 IU", "0.05%", "100 mcg", "10 units"]
FORMS = [
    "",
    "tablets",
    "tabs",
    "capsules",
    "cream",
    "gel",
    "once daily",
    "bd",
    "od",
    "x2 daily",
    "at night",
    "prn",
]
OTHERS = [
    "paracetamol",
    "omeprazole",
    "metformin",
    "levothyroxine",
    "vitamin D",
    "amlodipine",
    "atorvastatin",
    "cetirizine",
    "salbutamol inhaler",
    "folic acid",
    "magnesium",
    "collagen",
    "biotin",
    "melatonin",
]
NEGATIONS = ["none", "n/a", "nothing", "no blood thinners", "not taking any", "nil", "no medication"]
SEPARATORS = [", ", "; ", " and ", " / ", " + ", " with ", "\n"]


def _typo(word: str, rng: random.Random) -> str:
    """One realistic slip: a dropped, doubled or swapped letter."""
    if len(word) < 7:
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.choice("dds")
    if kind == "d":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _name(lexicon_names: list[str], rng: random.Random, typos: bool) -> str:
    name = rng.choice(lexicon_names)
    if typos and rng.random() < 0.25:
        name = _typo(name, rng)
    name = rng.choice([name, name.lower(), name.upper(), name.title()])
    return " ".join(part for part in (name, rng.choice(DOSES), rng.choice(FORMS)) if part)


def make_lines(lexicon: Lexicon, count: int, seed: int, typos: bool) -> list[str]:
    """Varied typed lines: 1-3 medicines each, with doses, forms, noise and negations."""
    rng = random.Random(seed)
    names = sorted(" ".join(key) for key in lexicon.names)
    lines = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.08:
            lines.append(rng.choice(NEGATIONS))
            continue
        parts = [_name(names, rng, typos) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
        if roll < 0.3:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(OTHERS))
        line = parts[0]
        for part in parts[1:]:
            line += rng.choice(SEPARATORS) + part
        lines.append(line)
    return lines


def _rate(lexicon: Lexicon, lines: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    found = 0
    for line in lines:
        found += len(lexicon.match(line))
    elapsed = time.perf_counter() - start
    return len(lines) / elapsed, found


def main() -> None:
    """Run the workloads and print lines/second for each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    args = parser.parse_args()

    start = time.perf_counter()
    lexicon = Lexicon.load(LEXICON_PATH)
    load_ms = (time.perf_counter() - start) * 1000
    print(f"lexicon: {len(lexicon.classes)} classes, {len(lexicon.names)} names, loaded in {load_ms:.1f} ms")

    varied = make_lines(lexicon, args.lines, seed=1, typos=True)
    rate, found = _rate(lexicon, varied)
    print(f"cold (fresh caches, 25% typos): {len(varied):>7} lines  {rate:>10,.0f} lines/s  {found} matches")

    exact = make_lines(lexicon, args.lines, seed=2, typos=False)
    _rate(lexicon, exact)  # warm the per-fragment cache with these names
    unique = [f"{line} {i}mg" for i, line in enumerate(exact * 10)]
    rate, found = _rate(lexicon, unique)
    print(f"unique exact (fragment cache):  {len(unique):>7} lines  {rate:>10,.0f} lines/s  {found} matches")

    rng = random.Random(3)
    names = sorted(" ".join(key) for key in lexicon.names)
    single = [f"{rng.choice(names).title()} {i % 997}mg {rng.choice(FORMS)}" for i in range(len(unique))]
    _rate(lexicon, single[:2000])
    rate, found = _rate(lexicon, single)
    print(f"one name + dose, unique text:   {len(single):>7} lines  {rate:>10,.0f} lines/s  {found} matches")

    repeated = varied * 10
    rate, found = _rate(lexicon, repeated)
    print(
        f"repeated (line cache):          {len(repeated):>7} lines  {rate:>10,.0f} lines/s  {found} matches"
    )


if __name__ == "__main__":
    main()
