"""The facts rules read: every answer by its dotted name, plus the derived facts.

The **catalogue** lists every name a condition may test and its type. It is built by
introspecting the marshmallow schemas of :mod:`intake.answers` (so a new question is a
new fact with no change here), plus the derived facts of docs/rules.md, whose
``medications.stopped_on.CLASS`` and ``treatments.last_on[_planned_area].KIND`` names
are spelled out for every medication class of the lexicon and every treatment kind.
Each field has a fixed integer ``index``: :class:`Facts` keeps the values of one intake
in a list in that order, so a compiled condition reads a fact with one list index.

Values in :class:`Facts`:

- :data:`MISSING` — the patient did not answer (the key is absent or None). A condition
  on it is unknown. Not-applicable questions (pregnancy for a male patient) are
  MISSING too: rules guard on ``about.sex``.
- ``None`` — only for derived date facts, meaning "answered, and there is no such
  date" (no filler ever, no upcoming event): date conditions on it are false, not
  unknown, and ``answered`` is false.
- lists are tuples in the order given; dates are ``datetime.date``.

A medicine the lexicon does not recognise adds nothing to the class lists; it is in
``medications.unrecognised`` for a rule to ask about. Allergies are read the same way
through the allergen lexicon: ``allergies.classes``, ``allergies.reactions`` and
``allergies.unrecognised``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from marshmallow import fields, validate
from rapidfuzz import fuzz, process

from ..answers import SECTIONS, question_of
from ..answers.approximate import PRECISIONS, date_range
from ..answers.areas import overlapping
from ..answers.questions import precision_name
from .allergens import AllergenLexicon, AllergenMatch
from .medications import Lexicon, MedicationMatch

FieldType = Literal["bool", "number", "text", "choice", "choice_list", "text_list", "date", "datetime"]
LIST_TYPES: Final = frozenset({"choice_list", "text_list"})


class _Missing:
    """The type of :data:`MISSING`; one instance only."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        raise TypeError("MISSING is neither true nor false: test `is MISSING`")

    def __reduce__(self) -> str:
        return "MISSING"


#: An unanswered question: distinct from None, False and an empty list.
MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One testable name: its type, its allowed values, and its slot in Facts.values."""

    name: str
    type: FieldType
    index: int
    #: Allowed values (choice, choice_list, numbers with fixed options); None: any.
    choices: tuple[Any, ...] | None = None
    #: What the choices are called in error messages.
    vocabulary: str = "choice"
    derived: bool = False


# Names of the derived facts, in catalogue order (CLASS and KIND are expanded).
DERIVED_AGE = "derived.age"
DERIVED_BOOKED = "derived.appointment_booked"
MEDICATION_LISTS = (
    "medications.taking",
    "medications.taking_prescribed",
    "medications.taking_unprescribed",
    "medications.stopped_prescribed",
)
STOPPED_ON = "medications.stopped_on."
LAST_TAKEN_ON = "medications.last_taken_on."
UNRECOGNISED = "medications.unrecognised"
LAST_ON = "treatments.last_on."
LAST_ON_PLANNED = "treatments.last_on_planned_area."
NEXT_EVENT = "events.next_on"
#: ``earliest.NAME``: the earliest day a date fact NAME may be, when the patient was not sure of it
#: (NAME itself holds the latest: docs/rules.md, "Dates the patient is not sure of").
EARLIEST = "earliest."
ALLERGY_CLASSES = "allergies.classes"
ALLERGY_REACTIONS = "allergies.reactions"
ALLERGY_UNRECOGNISED = "allergies.unrecognised"
ALLERGY_FACTS = (ALLERGY_CLASSES, ALLERGY_REACTIONS, ALLERGY_UNRECOGNISED)
#: Facts.values[REFERENCE_INDEX] is the reference date, which date tests compare with.
REFERENCE_INDEX: Final = 0

#: What derive_facts works out of the answers' lists, beyond the answers themselves (each costs
#: a pass over its list): a caller that needs only some facts (a preview's changed rules) names them.
FACT_GROUPS: Final = frozenset({"medications", "allergies", "treatments", "events"})


def _one_of(field: fields.Field[Any]) -> tuple[Any, ...] | None:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return tuple(validator.choices)
    return None


def _answer_type(field: fields.Field[Any]) -> tuple[FieldType, tuple[Any, ...] | None] | None:
    """The rule type of one schema field, or None for lists of items (read through derived facts)."""
    if isinstance(field, fields.Boolean):
        return "bool", None
    if isinstance(field, fields.Number):
        return "number", _one_of(field)
    if isinstance(field, fields.Date):
        return "date", None
    if isinstance(field, fields.DateTime):
        return "datetime", None
    if isinstance(field, fields.String):
        choices = _one_of(field)
        return ("choice", choices) if choices is not None else ("text", None)
    if isinstance(field, fields.List):
        if isinstance(field.inner, fields.Nested):
            return None
        choices = _one_of(field.inner)
        return ("choice_list", choices) if choices is not None else ("text_list", None)
    raise TypeError(f"no rule type for {type(field).__name__}")


def treatment_kinds() -> tuple[str, ...]:
    """The treatment kinds of the answers document."""
    items = SECTIONS["treatments"]().fields["items"]
    # (nosec B101 below) the schema is ours and fixed; the asserts narrow types for the checker.
    assert isinstance(items, fields.List) and isinstance(items.inner, fields.Nested)  # nosec B101
    schema = items.inner.schema
    kinds = _one_of(schema.fields["kind"])
    assert kinds is not None  # nosec B101 # the kind field always has choices
    return tuple(kinds)


def allergy_reactions() -> tuple[str, ...]:
    """The reactions an allergy of the answers document may have."""
    items = SECTIONS["allergies"]().fields["items"]
    assert isinstance(items, fields.List) and isinstance(items.inner, fields.Nested)  # nosec B101
    reactions = _one_of(items.inner.schema.fields["reaction"])
    assert reactions is not None  # nosec B101 # the reaction field always has choices
    return tuple(reactions)


class Catalogue:
    """Every name a condition may test, with its type; built once per lexicon."""

    def __init__(self, medication_classes: Iterable[str] | None, allergens: AllergenLexicon | None = None):
        #: None when the lexicon could not be read: class names are then not checked.
        self.medication_classes: frozenset[str] | None = (
            None if medication_classes is None else frozenset(medication_classes)
        )
        #: The allergen lexicon the allergy facts are read with (None: none, so nothing is recognised
        #: and allergen class names are not checked).
        self.allergens = allergens
        self.treatment_kinds: tuple[str, ...] = treatment_kinds()
        self.fields: dict[str, FieldSpec] = {}
        self._slots: _Slots | None = None
        #: Lists of items, read through derived facts: name -> the derived facts to use.
        self.item_lists: dict[str, str] = {}
        #: The answers that are dates the patient may not know exactly (each has its earliest.NAME).
        self.approximate_answers: list[str] = []
        for section, schema in SECTIONS.items():
            for name, field in schema().fields.items():
                typed = _answer_type(field)
                if typed is None:
                    self.item_lists[f"{section}.{name}"] = section
                    continue
                self._add(f"{section}.{name}", typed[0], typed[1])
                question = question_of(field)
                if question is not None and question.may_be_approximate:
                    self.approximate_answers.append(f"{section}.{name}")
        self._add(DERIVED_AGE, "number", derived=True)
        self._add(DERIVED_BOOKED, "bool", derived=True)
        classes = None if self.medication_classes is None else tuple(sorted(self.medication_classes))
        for name in MEDICATION_LISTS:
            self._add(name, "choice_list", classes, vocabulary="medication class", derived=True)
        for class_id in classes or ():
            self._add(STOPPED_ON + class_id, "date", derived=True)
        for class_id in classes or ():
            self._add(LAST_TAKEN_ON + class_id, "date", derived=True)
        self._add(UNRECOGNISED, "text_list", derived=True)
        for kind in self.treatment_kinds:
            self._add(LAST_ON + kind, "date", derived=True)
            self._add(LAST_ON_PLANNED + kind, "date", derived=True)
        self._add(NEXT_EVENT, "date", derived=True)
        for name in [*self.approximate_answers, *(n for n in list(self.fields) if _may_be_approximate(n))]:
            self._add(EARLIEST + name, "date", derived=True)
        allergen_classes = None if allergens is None else tuple(sorted(allergens.classes))
        self._add(ALLERGY_CLASSES, "choice_list", allergen_classes, vocabulary="allergen class", derived=True)
        self._add(ALLERGY_REACTIONS, "choice_list", allergy_reactions(), vocabulary="reaction", derived=True)
        self._add(ALLERGY_UNRECOGNISED, "text_list", derived=True)

    def _add(
        self,
        name: str,
        type_: FieldType,
        choices: tuple[Any, ...] | None = None,
        vocabulary: str = "choice",
        derived: bool = False,
    ) -> FieldSpec:
        spec = FieldSpec(name, type_, len(self.fields) + 1, choices, vocabulary, derived)
        self.fields[name] = spec
        return spec

    def __len__(self) -> int:
        return len(self.fields)

    def slots(self) -> _Slots:
        """Where derive_facts puts each value (worked out once per catalogue)."""
        if self._slots is None or self._slots.size != self.size:
            self._slots = _Slots(self)
        return self._slots

    def groups_reading(self, indexes: Iterable[int]) -> frozenset[str]:
        """The FACT_GROUPS whose facts include one of these slots: what derive_facts must work out for them."""
        wanted = frozenset(indexes)
        return frozenset(group for group, slots in self.slots().group_slots.items() if not wanted.isdisjoint(slots))

    @property
    def size(self) -> int:
        """The length of Facts.values: one slot per field plus the reference date."""
        return len(self.fields) + 1

    def __contains__(self, name: object) -> bool:
        return self.get(name) is not None if isinstance(name, str) else False

    def get(self, name: str) -> FieldSpec | None:
        """The field called ``name``, or None when there is no such fact."""
        spec = self.fields.get(name)
        if spec is None and self.medication_classes is None:
            # Without a lexicon any class is accepted, so that other errors still show.
            dated = name.removeprefix(EARLIEST)
            for prefix in (STOPPED_ON, LAST_TAKEN_ON):
                if dated.startswith(prefix) and dated[len(prefix):]:
                    spec = self._add(name, "date", derived=True)
        return spec

    def unknown_field_message(self, name: str) -> str:
        """Why ``name`` is not a fact, and what was probably meant."""
        if name in self.item_lists:
            section = self.item_lists[name]
            derived = [n for n in self.fields if n.startswith(section + ".") and self.fields[n].derived]
            shown = ", ".join(sorted({_family(n) for n in derived}))
            return f"'{name}' is a list of items, read through the derived facts: {shown}"
        dated = name.removeprefix(EARLIEST)
        for prefix, what, known in (
            (STOPPED_ON, "medication class", sorted(self.medication_classes or ())),
            (LAST_TAKEN_ON, "medication class", sorted(self.medication_classes or ())),
            (LAST_ON, "treatment kind", list(self.treatment_kinds)),
            (LAST_ON_PLANNED, "treatment kind", list(self.treatment_kinds)),
        ):
            if dated.startswith(prefix):
                item = dated[len(prefix):]
                return f"unknown {what} '{item}' in '{name}'" + suggestion(item, known)
        if name.startswith(EARLIEST):
            return (f"'{name}': earliest. applies to the dates a patient may not know exactly: "
                    + ", ".join(sorted({_family(n) for n in self.fields if n.startswith(EARLIEST)})))
        return f"unknown field '{name}'" + suggestion(name, list(self.fields))


class _Slots:
    """Catalogue indexes by where the values come from, so deriving facts needs no name lookups."""

    def __init__(self, catalogue: Catalogue):
        fields = catalogue.fields
        self.size = catalogue.size
        #: section -> answer key -> (index, type)
        self.answers: dict[str, dict[str, tuple[int, FieldType]]] = {}
        for spec in fields.values():
            if not spec.derived:
                section, key = spec.name.split(".", 1)
                self.answers.setdefault(section, {})[key] = (spec.index, spec.type)
        #: The same as (section, ((key, index, converter or None), ...)): derive_facts walks
        #: this once per intake, so the type of each answer is decided here, not per answer.
        self.sections: tuple[tuple[str, tuple[tuple[str, int, Callable[[Any], Any] | None], ...]], ...] = tuple(
            (section, tuple((key, index, _CONVERTERS.get(type_)) for key, (index, type_) in keys.items()))
            for section, keys in self.answers.items()
        )
        self.age = fields[DERIVED_AGE].index
        #: The answers the reference date and the age come from (None if the schema had none).
        self.appointment = fields["about.appointment_date"].index if "about.appointment_date" in fields else None
        self.birth = fields["about.date_of_birth"].index if "about.date_of_birth" in fields else None
        self.booked = fields[DERIVED_BOOKED].index
        self.medication_lists = tuple(fields[name].index for name in MEDICATION_LISTS)
        self.unrecognised = fields[UNRECOGNISED].index
        #: class -> (latest, earliest) slots of its stop date, and of its last dose
        self.stopped_on = {name[len(STOPPED_ON):]: (spec.index, fields[EARLIEST + name].index)
                           for name, spec in fields.items() if name.startswith(STOPPED_ON)}
        self.last_taken_on = {name[len(LAST_TAKEN_ON):]: (spec.index, fields[EARLIEST + name].index)
                              for name, spec in fields.items() if name.startswith(LAST_TAKEN_ON)}
        #: kind -> (latest, earliest) slots in any area, then in a planned area
        self.treatments = {kind: ((fields[LAST_ON + kind].index, fields[EARLIEST + LAST_ON + kind].index),
                                  (fields[LAST_ON_PLANNED + kind].index,
                                   fields[EARLIEST + LAST_ON_PLANNED + kind].index))
                           for kind in catalogue.treatment_kinds}
        self.next_event = fields[NEXT_EVENT].index
        #: (section, answer, its "How sure?" answer, latest slot, earliest slot) of the approximate answers
        self.approximate_answers: tuple[tuple[str, str, str, int, int], ...] = tuple(
            (section, key, precision_name(key), fields[name].index, fields[EARLIEST + name].index)
            for name in catalogue.approximate_answers for section, key in [name.split(".", 1)])
        self.allergy_facts = tuple(fields[name].index for name in ALLERGY_FACTS)
        # "Answered, no such date" is None in every one of these slots; filled run by run.
        self.stopped_on_runs = _runs(i for slots in (self.stopped_on, self.last_taken_on)
                                     for pair in slots.values() for i in pair)
        self.treatment_runs = _runs(i for pairs in self.treatments.values() for pair in pairs for i in pair)
        #: group -> the slots its part of derive_facts fills (FACT_GROUPS)
        self.group_slots: dict[str, frozenset[int]] = {
            "medications": frozenset((*self.medication_lists, self.unrecognised,
                                      *(i for slots in (self.stopped_on, self.last_taken_on)
                                        for pair in slots.values() for i in pair))),
            "allergies": frozenset(self.allergy_facts),
            "treatments": frozenset(i for pairs in self.treatments.values() for pair in pairs for i in pair),
            "events": frozenset({self.next_event}),
        }
        self.medicines = _MedicineMemo()
        #: Allergies already read, by (typed, reaction): one immutable AllergyFact serves every intake.
        self.allergies: dict[tuple[str, str], AllergyFact] = {}


def _runs(indexes: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Sorted indexes as (start, stop) runs of consecutive ones, for slice assignment."""
    runs: list[list[int]] = []
    for index in sorted(indexes):
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return tuple((start, stop) for start, stop in runs)


def _fill_none(values: list[Any], runs: tuple[tuple[int, int], ...]) -> None:
    for start, stop in runs:
        values[start:stop] = [None] * (stop - start)


def _family(name: str) -> str:
    earliest, dated = (EARLIEST, name[len(EARLIEST):]) if name.startswith(EARLIEST) else ("", name)
    for prefix, shown in ((STOPPED_ON, "CLASS"), (LAST_TAKEN_ON, "CLASS"), (LAST_ON, "KIND"),
                          (LAST_ON_PLANNED, "KIND")):
        if dated.startswith(prefix):
            return earliest + prefix + shown
    return name


def _may_be_approximate(name: str) -> bool:
    """The derived dates made from dates a patient may not know exactly (each has its earliest.NAME)."""
    return name.startswith((STOPPED_ON, LAST_TAKEN_ON, LAST_ON, LAST_ON_PLANNED))


def suggestion(word: str, known: Sequence[str]) -> str:
    """' (did you mean 'x'?)' for the closest known word, or ''."""
    best = process.extractOne(word, known, scorer=fuzz.ratio, score_cutoff=70)
    if best is None and "." not in word:
        # A field name written without its section: "pregnant" for health.pregnant.
        last_parts = [name.rsplit(".", 1)[-1] for name in known]
        found = process.extractOne(word, last_parts, scorer=fuzz.ratio, score_cutoff=80)
        best = (known[found[2]], found[1], found[2]) if found else None
    return f" (did you mean '{best[0]}'?)" if best else ""


@dataclass(frozen=True, slots=True)
class MedicationFact:
    """One medicine the patient listed, with what the lexicon recognised in it."""

    typed: str
    dose: str
    status: str  # taking | stopped
    prescribed: bool
    stopped_on: dt.date | None
    matches: tuple[MedicationMatch, ...]
    classes: frozenset[str]
    #: Who stopped it ("prescriber", "switched", "me"), or "" when not said.
    stopped_by: str = ""
    #: How sure the patient is of the stop date ("month"…), or "" for the exact day.
    stopped_precision: str = ""
    #: How a medicine still taken is taken ("regularly", "as_needed"), or "" when not said (counted as regularly).
    how_taken: str = ""
    #: The last dose of a medicine taken only when needed, and how sure the patient is of it.
    last_taken_on: dt.date | None = None
    last_taken_precision: str = ""
    #: Worked out once: flags show it for every rule the medicine triggers. (Given by
    #: match_medications, which remembers it per typed line; worked out here otherwise.)
    description: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        # match_medications passes the description it memoised for the line; anyone else
        # gets it worked out here.
        if not self.description:
            described = describe_medicine(self.typed, self.dose, self.matches, self.classes)
            object.__setattr__(self, "description", described)

    def describe(self) -> str:
        """'Eliquis 5mg → doac (apixaban)', or 'Herbal X → not recognised'."""
        return self.description


def stopped_by_patient(medicine: MedicationFact) -> bool:
    """A prescribed medicine stopped other than by its prescriber (or without saying who stopped it):
    what ``medications.stopped_prescribed`` lists."""
    return medicine.prescribed and medicine.stopped_by not in ("prescriber", "switched")


def describe_medicine(
    typed: str, dose: str, matches: Sequence[MedicationMatch], classes: Iterable[str]
) -> str:
    """'Eliquis 5mg → doac (apixaban)', or 'Herbal X → not recognised'."""
    shown = " ".join(part for part in (typed, dose) if part)
    if not matches:
        return f"{shown} → not recognised"
    names = sorted({m.generic or m.name for m in matches} - {""})
    named = f" ({', '.join(names)})" if names else ""
    return f"{shown} → {', '.join(sorted(classes)) or 'no class'}{named}"


@dataclass(frozen=True, slots=True)
class AllergyFact:
    """One allergy the patient named (or the free text about allergies), with what the lexicon recognised."""

    typed: str
    reaction: str  #: a reaction of the vocabulary, or "" (the free text has none)
    matches: tuple[AllergenMatch, ...]
    classes: frozenset[str]
    #: Nothing recognised, and not a "none" either ("no known allergies").
    unrecognised: bool
    description: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.description:
            shown = f"{self.typed} ({self.reaction})" if self.reaction else self.typed
            if not self.matches:
                described = f"{shown} → not recognised"
            else:
                names = ", ".join(sorted({m.allergen for m in self.matches}))
                described = f"{shown} → {', '.join(sorted(self.classes))} ({names})"
            object.__setattr__(self, "description", described)


def read_allergy(lexicon: AllergenLexicon | None, typed: str, reaction: str) -> AllergyFact:
    """One named allergy as the rules read it."""
    matches = lexicon.match(typed) if lexicon is not None else ()
    classes = frozenset().union(*(m.classes for m in matches)) if matches else frozenset()
    # Free text (no reaction) is prose about allergies, not a name: never "unrecognised".
    return AllergyFact(typed, reaction, matches, classes,
                       unrecognised=bool(reaction) and not matches and not AllergenLexicon.says_none(typed))


class Facts:
    """The facts of one intake on one date: values by catalogue index, plus the medicines and allergies."""

    __slots__ = ("catalogue", "values", "on", "reference_date", "medications", "allergies", "_medicines_key")

    def __init__(
        self,
        catalogue: Catalogue,
        values: list[Any],
        on: dt.date,
        reference_date: dt.date,
        medications: tuple[MedicationFact, ...],
        allergies: tuple[AllergyFact, ...] = (),
    ):
        self.catalogue = catalogue
        self.values = values
        self.on = on
        self.reference_date = reference_date
        self.medications = medications
        self.allergies = allergies
        self._medicines_key: tuple[Any, ...] | None = None

    def medicines_key(self) -> tuple[int, ...]:
        """The identities of the medicines and allergies (``id`` of each MedicationFact and
        AllergyFact, an empty slot between them): the engine remembers the flags that show
        them by it, and keeps them alive with each flag it remembers (``evidence_items``), so an
        id in a remembered key always stands for the same object. They are immutable and
        shared between intakes that list the same medicine or allergy the same way."""
        key = self._medicines_key
        if key is None:
            key = self._medicines_key = (*map(id, self.medications), 0, *map(id, self.allergies))
        return key

    def evidence_items(self) -> tuple[Any, ...]:
        """What ``medicines_key`` stands for, to keep alive with a remembered flag."""
        return (self.medications, self.allergies)

    def __getitem__(self, name: str) -> Any:
        spec = self.catalogue.get(name)
        if spec is None:
            raise KeyError(name)
        return self.values[spec.index] if spec.index < len(self.values) else MISSING

    def get(self, name: str, default: Any = MISSING) -> Any:
        """The value of ``name`` (MISSING when unanswered); ``default`` for an unknown name."""
        try:
            return self[name]
        except KeyError:
            return default

    @property
    def appointment_booked(self) -> bool:
        """True when an appointment date was given."""
        return self.values[self.catalogue.fields[DERIVED_BOOKED].index] is True

    def as_dict(self) -> dict[str, Any]:
        """Every fact by name (MISSING included), for debugging and explanations."""
        return {name: self.values[spec.index] for name, spec in self.catalogue.fields.items()
                if spec.index < len(self.values)}

    def evidence(self, name: str, values: Iterable[Any] = ()) -> tuple[str, ...]:
        """The medicines behind a medication fact ('Eliquis 5mg → doac'), or the allergies behind an
        allergy fact ('lidocaine (rash) → local_anaesthetic (lidocaine)'), for flags."""
        wanted = frozenset(values)
        if name in ALLERGY_FACTS:
            return tuple(a.description for a in self.allergies if (
                a.unrecognised if name == ALLERGY_UNRECOGNISED
                else a.reaction and (not wanted or a.reaction in wanted) if name == ALLERGY_REACTIONS
                else a.classes and (not wanted or not wanted.isdisjoint(a.classes))))
        name = name.removeprefix(EARLIEST)
        if name.startswith(STOPPED_ON):
            class_id = name[len(STOPPED_ON):]
            chosen = [m for m in self.medications if m.status == "stopped" and class_id in m.classes]
        elif name.startswith(LAST_TAKEN_ON):
            class_id = name[len(LAST_TAKEN_ON):]
            chosen = [m for m in self.medications if class_id in m.classes
                      and (m.status == "taking" or (m.status == "stopped" and m.stopped_on is not None))]
        elif name == UNRECOGNISED:
            chosen = [m for m in self.medications if not m.matches]
        elif name in MEDICATION_LISTS:
            status = "stopped" if name == "medications.stopped_prescribed" else "taking"
            prescribed = {"medications.taking_prescribed": True, "medications.stopped_prescribed": True,
                          "medications.taking_unprescribed": False}.get(name)
            chosen = [
                m for m in self.medications
                if m.status == status and m.classes
                and (prescribed is None or m.prescribed is prescribed)
                and (status == "taking" or stopped_by_patient(m))
                and (not wanted or not wanted.isdisjoint(m.classes))
            ]
        else:
            return ()
        return tuple(m.description for m in chosen)


def has_evidence(name: str) -> bool:
    """True for the facts whose flags show the medicines behind them."""
    name = name.removeprefix(EARLIEST)
    return (name.startswith((STOPPED_ON, LAST_TAKEN_ON)) or name == UNRECOGNISED or name in MEDICATION_LISTS
            or name in ALLERGY_FACTS)


def _date(value: Any) -> Any:
    if value.__class__ is dt.date:  # what a loaded answers document holds: the commonest case first
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return MISSING
    if isinstance(value, dt.datetime):
        return value.date()
    return value


#: How derive_facts turns an answer of each type into a fact (other types are copied).
_CONVERTERS: Final[dict[str, Callable[[Any], Any]]] = {"date": _date, "choice_list": tuple, "text_list": tuple}


def age_on(birth: dt.date, on: dt.date) -> int:
    """Age in whole years on ``on`` (born on 29 February: a year older on 1 March)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def match_medications(
    items: Sequence[Mapping[str, Any]], lexicon: Lexicon | None, memo: _MedicineMemo | None = None
) -> tuple[MedicationFact, ...]:
    """Recognise each listed medicine once with the lexicon (``memo``: a catalogue's, to reuse)."""
    make = (memo or _MedicineMemo()).fact
    recognised = []
    for item in items:
        stopped = _date(item.get("stopped_on"))
        status = item.get("status")
        as_needed = status == "taking" and item.get("how_taken") == "as_needed"
        last_dose = _date(item.get("last_taken_on")) if as_needed else None
        recognised.append(make(
            lexicon,
            str(item.get("name") or ""),
            str(item.get("dose") or ""),
            str(status or ""),
            item.get("prescribed") is True,
            stopped if isinstance(stopped, dt.date) else None,
            str(item.get("stopped_by") or "") if status == "stopped" else "",
            str(item.get("stopped_on_precision") or ""),
            str(item.get("how_taken") or "") if status == "taking" else "",
            last_dose if isinstance(last_dose, dt.date) else None,
            str(item.get("last_taken_on_precision") or "") if as_needed else "",
        ))
    return tuple(recognised)


class _MedicineMemo:
    """Medicines already worked out; one memo per catalogue (so per ruleset).

    A MedicationFact depends only on the arguments of ``fact`` and is immutable, so one
    instance serves every intake that lists the same medicine the same way; what the
    lexicon makes of a typed line (and how flags describe it) is remembered apart, for the
    same line with another status or date. The lexicon is part of every key. Bounded: a
    full memo keeps what it has and remembers nothing more (see rules.MEMO_LIMIT).
    """

    LIMIT: Final = 8192

    def __init__(self) -> None:
        self.facts: dict[tuple[Any, ...], MedicationFact] = {}
        self.lines: dict[tuple[Any, ...], tuple[tuple[MedicationMatch, ...], frozenset[str], str]] = {}

    def fact(
        self, lexicon: Lexicon | None, typed: str, dose: str, status: str, prescribed: bool,
        stopped_on: dt.date | None, stopped_by: str = "", stopped_precision: str = "", how_taken: str = "",
        last_taken_on: dt.date | None = None, last_taken_precision: str = "",
    ) -> MedicationFact:
        key = (lexicon, typed, dose, status, prescribed, stopped_on, stopped_by, stopped_precision, how_taken,
               last_taken_on, last_taken_precision)
        fact = self.facts.get(key)
        if fact is None:
            line = (lexicon, typed, dose)
            recognised = self.lines.get(line)
            if recognised is None:
                recognised = _recognised(lexicon, typed, dose)
                if len(self.lines) < self.LIMIT:
                    self.lines[line] = recognised
            matches, classes, description = recognised
            fact = MedicationFact(typed=typed, dose=dose, status=status, prescribed=prescribed,
                                  stopped_on=stopped_on, matches=matches, classes=classes, stopped_by=stopped_by,
                                  stopped_precision=stopped_precision, how_taken=how_taken,
                                  last_taken_on=last_taken_on, last_taken_precision=last_taken_precision,
                                  description=description)
            if len(self.facts) < self.LIMIT:
                self.facts[key] = fact
        return fact


def _recognised(
    lexicon: Lexicon | None, typed: str, dose: str
) -> tuple[tuple[MedicationMatch, ...], frozenset[str], str]:
    matches = tuple(lexicon.match(typed)) if lexicon is not None and typed else ()
    classes = frozenset().union(*(m.classes for m in matches)) if matches else frozenset()
    return matches, classes, describe_medicine(typed, dose, matches, classes)


def derive_facts(
    answers: Mapping[str, Any],
    lexicon: Lexicon | None,
    on: dt.date,
    catalogue: Catalogue | None = None,
    groups: frozenset[str] = FACT_GROUPS,
) -> Facts:
    """The facts of an answers document on ``on`` (the reference date is the appointment, if booked).

    ``groups``: the FACT_GROUPS to work out (Catalogue.groups_reading); the others' facts stay unanswered.
    """
    if catalogue is None:
        catalogue = Catalogue(None if lexicon is None else lexicon.classes.keys())
    slots = catalogue.slots()
    values: list[Any] = [MISSING] * slots.size
    for section, entries in slots.sections:
        given = answers.get(section)
        # The exact-type test first: answers are plain dicts, and isinstance against an ABC is slow.
        if given.__class__ is not dict and not isinstance(given, Mapping):
            continue
        get = given.get
        for key, index, convert in entries:
            value = get(key)
            if value is not None:  # None: unanswered, and values start MISSING
                values[index] = value if convert is None else convert(value)

    about = answers.get("about") or {}
    # Both dates are in their slots already (converted as above) when "about" is a plain dict.
    plain = about.__class__ is dict
    appointment = (values[slots.appointment] if plain and slots.appointment is not None
                   else _date(about.get("appointment_date")))
    booked = isinstance(appointment, dt.date)
    if "appointment_date" in about:
        values[slots.booked] = booked
    reference = appointment if booked else on
    values[REFERENCE_INDEX] = reference
    birth = values[slots.birth] if plain and slots.birth is not None else _date(about.get("date_of_birth"))
    if isinstance(birth, dt.date):
        values[slots.age] = age_on(birth, reference)
    for section, _key, precision, latest, earliest in slots.approximate_answers:
        day = values[latest]
        if day.__class__ is dt.date:
            values[earliest], values[latest] = _range(day, (answers.get(section) or {}).get(precision), reference)

    medicines = _medication_facts(answers, lexicon, reference, slots, values) if "medications" in groups else ()
    allergies = _allergy_facts(answers, catalogue.allergens, slots, values) if "allergies" in groups else ()
    if "treatments" in groups:
        _treatment_facts(answers, reference, slots, values)
    if "events" in groups:
        _event_facts(answers, reference, slots, values)
    return Facts(catalogue, values, on, reference, medicines, allergies)


def _range(day: dt.date, precision: Any, reference: dt.date) -> tuple[dt.date, dt.date]:
    """(earliest, latest) of a date the patient gave, never after the reference date (what they
    did happened by the appointment); a precision the answers schema would refuse counts as exact."""
    return date_range(day, precision if precision in PRECISIONS else None, not_after=reference)


def _later(found: dict[str, tuple[dt.date, dt.date]], key: str, span: tuple[dt.date, dt.date]) -> None:
    """Keep, for ``key``, the latest of the earliest days and the latest of the latest days: the last
    of several events (medicines, treatments) is at earliest the latest earliest, at latest the latest latest."""
    known = found.get(key)
    found[key] = span if known is None else (max(known[0], span[0]), max(known[1], span[1]))


def _put(found: dict[str, tuple[dt.date, dt.date]], slots: Mapping[str, tuple[int, int]], values: list[Any]) -> None:
    for key, (earliest, latest) in found.items():
        slot = slots.get(key)
        if slot is not None:
            values[slot[0]], values[slot[1]] = latest, earliest


def _items(answers: Mapping[str, Any], section: str, flag: str) -> Sequence[Mapping[str, Any]] | None:
    """The items of a list section; None when the patient did not answer its yes/no question."""
    given = answers.get(section) or {}
    answered = given.get(flag)
    if answered is None:
        return None
    return (given.get("items") or []) if answered else []


def _medication_facts(
    answers: Mapping[str, Any], lexicon: Lexicon | None, reference: dt.date, slots: _Slots, values: list[Any]
) -> tuple[MedicationFact, ...]:
    items = _items(answers, "medications", "has_medications")
    if items is None:
        return ()
    if not items:  # answered, and none listed
        for index in (*slots.medication_lists, slots.unrecognised):
            values[index] = ()
        _fill_none(values, slots.stopped_on_runs)
        return ()
    medicines = match_medications(items, lexicon, slots.medicines)
    # One pass over the medicines for every medication fact.
    taking: set[str] = set()
    prescribed: set[str] = set()
    unprescribed: set[str] = set()
    stopped_prescribed: set[str] = set()
    stopped: dict[str, tuple[dt.date, dt.date]] = {}
    last_dose: dict[str, tuple[dt.date, dt.date]] = {}
    for medicine in medicines:
        span = None
        if medicine.status == "taking":
            taking |= medicine.classes
            (prescribed if medicine.prescribed else unprescribed).update(medicine.classes)
            # Taken only when needed: its last dose; otherwise (daily, or not said) taken up to the appointment.
            span = ((reference, reference) if medicine.how_taken != "as_needed" or medicine.last_taken_on is None
                    else _range(medicine.last_taken_on, medicine.last_taken_precision or None, reference))
        elif medicine.status == "stopped":
            if stopped_by_patient(medicine):
                stopped_prescribed |= medicine.classes
            if medicine.stopped_on is not None:
                span = _range(medicine.stopped_on, medicine.stopped_precision or None, reference)
                for class_id in medicine.classes:
                    _later(stopped, class_id, span)
        if span is not None:
            for class_id in medicine.classes:
                _later(last_dose, class_id, span)
    taking_slot, prescribed_slot, unprescribed_slot, stopped_slot = slots.medication_lists
    values[taking_slot] = tuple(sorted(taking))
    values[prescribed_slot] = tuple(sorted(prescribed))
    values[unprescribed_slot] = tuple(sorted(unprescribed))
    values[stopped_slot] = tuple(sorted(stopped_prescribed))
    values[slots.unrecognised] = tuple(m.typed for m in medicines if not m.matches)
    _fill_none(values, slots.stopped_on_runs)
    _put(stopped, slots.stopped_on, values)
    _put(last_dose, slots.last_taken_on, values)
    return medicines


def allergy_lines(given: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(typed, reaction) of each allergy of an answered allergies section, the free text last
    (with no reaction): the list counts only when its yes/no question was answered yes."""
    items = (given.get("items") or []) if given.get("has_allergies") is True else []
    lines = [(str(item.get("name") or ""), str(item.get("reaction") or "")) for item in items]
    other = given.get("other_allergies")
    if isinstance(other, str) and other.strip():
        lines.append((other, ""))
    return [(typed, reaction) for typed, reaction in lines if typed.strip()]


def _allergy_facts(
    answers: Mapping[str, Any], lexicon: AllergenLexicon | None, slots: _Slots, values: list[Any]
) -> tuple[AllergyFact, ...]:
    given = answers.get("allergies")
    if not isinstance(given, Mapping):
        return ()
    lines = allergy_lines(given)
    classes_slot, reactions_slot, unrecognised_slot = slots.allergy_facts
    if not lines:  # the common case: none named
        values[classes_slot] = values[reactions_slot] = values[unrecognised_slot] = ()
        return ()
    memo = slots.allergies
    allergies = []
    for typed, reaction in lines:
        fact = memo.get((typed, reaction))
        if fact is None:
            fact = read_allergy(lexicon, typed, reaction)
            if len(memo) < _MedicineMemo.LIMIT:
                memo[(typed, reaction)] = fact
        allergies.append(fact)
    values[classes_slot] = tuple(sorted(frozenset().union(*(a.classes for a in allergies))))
    # Free text has no reaction; a severe reaction counts whatever it was to, recognised or not.
    values[reactions_slot] = tuple(sorted({a.reaction for a in allergies if a.reaction}))
    values[unrecognised_slot] = tuple(a.typed for a in allergies if a.unrecognised)
    return tuple(allergies)


def _treatment_facts(answers: Mapping[str, Any], reference: dt.date, slots: _Slots, values: list[Any]) -> None:
    items = _items(answers, "treatments", "has_recent_treatments")
    if items is None:
        return
    _fill_none(values, slots.treatment_runs)  # answered: no such treatment
    if not items:
        return
    areas_given = (answers.get("goals") or {}).get("areas")
    # A treatment counts when its area overlaps a planned one (the same area, a part of it or
    # the whole it is part of: lips and "whole face" do, neck and forehead do not).
    planned = overlapping(areas_given) if areas_given is not None else None
    treatments = slots.treatments
    # One pass: the latest dates of each kind, in any area and in a planned area.
    latest: dict[str, tuple[dt.date, dt.date]] = {}
    latest_planned: dict[str, tuple[dt.date, dt.date]] = {}
    unknown: set[str] = set()
    for item in items:
        on = _date(item.get("on"))
        if not isinstance(on, dt.date):
            continue
        kind = item.get("kind")
        if kind not in treatments:
            continue
        span = _range(on, item.get("on_precision"), reference)
        _later(latest, kind, span)
        area = item.get("area")
        if area is None or (planned is not None and area in planned):
            _later(latest_planned, kind, span)
        elif planned is None:
            unknown.add(kind)  # the planned areas are unknown, so is this fact
    for kind, (earliest, last) in latest.items():
        (any_area, any_earliest), (planned_area, planned_earliest) = treatments[kind]
        values[any_area], values[any_earliest] = last, earliest
        if kind in unknown:
            values[planned_area] = values[planned_earliest] = MISSING
        else:
            values[planned_earliest], values[planned_area] = latest_planned.get(kind, (None, None))


def _event_facts(answers: Mapping[str, Any], reference: dt.date, slots: _Slots, values: list[Any]) -> None:
    items = _items(answers, "events", "has_upcoming_events")
    if items is None:
        return
    upcoming = None
    for item in items:
        on = _date(item.get("on"))
        if isinstance(on, dt.date) and on >= reference and (upcoming is None or on < upcoming):
            upcoming = on
    values[slots.next_event] = upcoming
