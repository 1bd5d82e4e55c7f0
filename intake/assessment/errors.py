"""Errors raised while loading rule files.

Every problem found in a rule file is collected, never raised on the first one, so a
clinic sees all of them at once. Each names the file, line, column and rule id.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class RuleFileError:
    """One problem in one rule file, located as precisely as the YAML allows."""

    file: str
    line: int  #: 1-based; 0 when the problem concerns the whole file
    column: int  #: 1-based; 0 when unknown
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        rule = f" [rule {self.rule_id}]" if self.rule_id else ""
        return f"{where}{rule}: {self.message}"


class RulesetInvalid(Exception):
    """A ruleset (precautions, lexicon or protocols) failed to load; carries every error."""

    def __init__(self, errors: list[RuleFileError]):
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
