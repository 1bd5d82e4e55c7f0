"""CSV injection: a cell a spreadsheet would run as a formula is escaped, however it is disguised."""

from __future__ import annotations

import pytest

from intake.api.exports import csv_cell


@pytest.mark.parametrize("value", [
    " =1+1", "  =HYPERLINK(\"http://evil\")", "\u00a0=1+1", "\u3000=1+1",  # leading whitespace of any kind
    "＝1+1", "＋1+1", "－1+1", "＠SUM(A1)",  # full-width forms
    ";=1+1", ",=1+1", "|=1+1", " ; =1+1",  # separators before the formula
    "=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1",
])
def test_disguised_formulas_are_escaped(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Ana Silva", "ana@example.org", "a=b", "1+1", " plain", "O'Brien", ""])
def test_plain_text_is_left_alone(value):
    assert csv_cell(value) == value
