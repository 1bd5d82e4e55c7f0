"""Fuzzing the answers schema: whatever a client sends, loading gives the answers or a ValidationError
naming the fields (never another exception), and what loads dumps and loads again unchanged.

Bounded here (MESO_FUZZ_EXAMPLES, default 200 per target); bench/README.md says how to run it longer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from intake.answers import dump_answers, load_answers
from tests.support.api import ANTICOAGULANT, PREGNANT, document

TODAY = dt.date(2026, 11, 25)
EXAMPLES = int(os.environ.get("MESO_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["", "2026-11-25", "2020-02-30", "9999-12-31", "0001-01-01", "yes", "taking", "face",
                     "\x00", "\u202e", "＝1+1", "1e309", "-0", "NaN"]),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
BASES = [document(), document(**PREGNANT), document(**ANTICOAGULANT)]


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


@st.composite
def mutated_documents(draw) -> Any:
    """A valid document with a few values replaced, removed or added anywhere in it."""
    doc = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths(doc)))
        if not path:
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "remove" and isinstance(parent, dict):
            parent.pop(path[-1])
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
    return doc


def load_or_refuse(doc: Any) -> dict | None:
    try:
        return load_answers(doc, today=TODAY)
    except ValidationError as refused:
        json.dumps(refused.messages, default=str)  # the errors can be shown (names, positions, messages)
        return None


@FUZZ
@given(mutated_documents())
def test_any_mutation_of_a_document_loads_or_is_refused_with_named_fields(doc):
    loaded = load_or_refuse(doc)
    if loaded is not None:
        dumped = dump_answers(loaded)
        assert dump_answers(load_answers(dumped, today=TODAY)) == dumped


@FUZZ
@given(st.one_of(json_values, st.dictionaries(st.sampled_from(list(document())), json_values)))
def test_any_json_at_all_is_refused_cleanly(doc):
    if not isinstance(doc, dict):
        return  # the API refuses a body that is not an object before the schema sees it
    load_or_refuse(doc)
