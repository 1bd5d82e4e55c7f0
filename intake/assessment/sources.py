"""The bibliography: the documents that rules, protocols and medication classes cite.

A rules folder's ``sources.yaml`` is a list of entries, one per document::

    - id: otley-aspirin-warfarin-cutaneous-surgery-2003
      authors: Otley CC
      title: Continuation of medically necessary aspirin and warfarin during cutaneous surgery
      published_in: Mayo Clinic Proceedings
      year: 2003
      url: https://pubmed.ncbi.nlm.nih.gov/14601698
      doi: 10.4065/78.11.1392
      supports: Medically necessary aspirin and warfarin are continued for skin procedures.

``parse_sources(text, display)`` checks one such file and returns its entries by id, or
raises :class:`~intake.assessment.errors.RulesetInvalid` with every problem (file, line,
column, the entry's id, what is wrong): an entry needs ``id``, ``title``,
``published_in``, ``supports`` and a ``url`` or a ``doi`` (``authors`` and ``year`` are
left out when unknown); an id written twice in one file is an error. Layers merge their
files in order (:mod:`intake.assessment.ruleset`): a later layer adds entries, and one
with an id already known replaces it.

Rules, protocols, adjustments and medication classes cite entries by id in their
``source`` lists; :func:`unknown_citations` says which of a list do not resolve.
``rule-default`` (:data:`RULE_DEFAULT`) is not a document: precaution rules and the
protocol file may cite it for a product decision of the clinic, never a claim of a
source; medication classes may not.

:data:`LEGACY_SOURCE_IDS` maps the labels older assessments cite to today's ids.

Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from rapidfuzz import fuzz, process

from .errors import RuleFileError, RulesetInvalid
from .yamlkit import Located, load_located, schema_errors

__all__ = [
    "LEGACY_SOURCE_IDS",
    "RULE_DEFAULT",
    "SOURCES_FILE",
    "SOURCE_ID",
    "Source",
    "parse_sources",
    "resolve_legacy",
    "unknown_citations",
]

#: The bibliography's file in a rules folder.
SOURCES_FILE: Final = "sources.yaml"
#: A source id: lowercase words and numbers joined by '-', saying what the document is.
SOURCE_ID: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: Cited by a rule or protocol for a decision of the clinic, not a claim of a source.
RULE_DEFAULT: Final = "rule-default"
_DOI: Final = re.compile(r"^10\.\d{4,9}/\S+$")
_YEARS: Final = (1500, 2100)


@dataclass(frozen=True)
class Source:
    """One cited document."""

    id: str
    #: The authors ("Otley CC"), or the body that issued it; "" when unknown.
    authors: str
    title: str
    #: The journal, publisher or website.
    published_in: str
    year: int | None
    url: str | None
    doi: str | None
    #: One sentence: what the rules use it for.
    supports: str

    @property
    def link(self) -> str:
        """Where to read it: the url, else the doi as a doi.org link."""
        if self.url:
            return self.url
        return f"https://doi.org/{self.doi}" if self.doi else ""

    def citation(self) -> str:
        """``Authors. Title. Published in, Year.`` (what is unknown left out)."""
        parts = [_sentence(self.authors), _sentence(self.title)]
        where = self.published_in.strip().rstrip(".")
        if self.year is not None:
            where = f"{where}, {self.year}" if where else str(self.year)
        parts.append(_sentence(where))
        return " ".join(part for part in parts if part)


def _sentence(text: str) -> str:
    """``text`` ending with one full stop (or its own ? or !); "" for no text."""
    text = text.strip()
    if not text:
        return ""
    return text if text.endswith((".", "?", "!")) else text + "."


def _suggestion(word: str, known: Collection[str]) -> str:
    """' (did you mean 'x'?)' for the closest known id, or '' (as facts.suggestion words it)."""
    best = process.extractOne(word, list(known), scorer=fuzz.ratio, score_cutoff=70) if known else None
    return f" (did you mean '{best[0]}'?)" if best else ""


# --- the file's schema ----------------------------------------------------------------------


def _messages(what: str) -> dict[str, str | list[Any] | dict[Any, Any]]:
    return {"required": "missing", "null": f"needs {what}, not nothing (null)", "invalid": f"needs {what}"}


def _text(required: bool = True) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, error="needs some text"),
                         error_messages=_messages("text"))


class _SourceSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        validate=validate.Regexp(SOURCE_ID, error="must be lowercase words joined by '-', like otley-aspirin-2003"),
        error_messages=_messages("lowercase words joined by '-', like otley-aspirin-2003"),
    )
    authors = _text(required=False)
    title = _text()
    published_in = _text()
    year = fields.Integer(
        strict=True,
        validate=validate.Range(min=_YEARS[0], max=_YEARS[1], error="needs a year such as 2017"),
        error_messages=_messages("a year such as 2017 (leave it out when unknown)"),
    )
    url = fields.String(
        validate=validate.URL(schemes={"http", "https"}, require_tld=True,
                              error="needs a web address starting with https:// or http://"),
        error_messages=_messages("a web address starting with https://"),
    )
    doi = fields.String(
        validate=validate.Regexp(_DOI, error="needs a DOI such as 10.4065/78.11.1392 (without https://doi.org/)"),
        error_messages=_messages("a DOI such as 10.4065/78.11.1392"),
    )
    supports = _text()

    @validates_schema
    def _findable(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("url") and not data.get("doi"):
            raise ValidationError("a source needs a 'url' or a 'doi' (or both), so it can be found")
        if data.get("id") == RULE_DEFAULT:
            raise ValidationError(f"'{RULE_DEFAULT}' is kept for decisions of the clinic: choose another id", "id")


_KEYS: Final = tuple(_SourceSchema().fields)


def parse_sources(text: str, display: str) -> dict[str, Source]:
    """The entries of one sources file by id; RulesetInvalid lists every problem (file:line, entry id)."""
    document = load_located(text, display)
    if document.is_scalar and document.value is None:
        return {}  # an empty file: no sources
    if not document.is_sequence:
        raise RulesetInvalid([RuleFileError(display, document.line, document.column, None,
                                            "a sources file is a list of sources, each starting with '- id:'")])
    errors: list[RuleFileError] = []
    found: dict[str, Source] = {}
    lines: dict[str, int] = {}
    for node in document.items_():
        if not node.is_mapping:
            errors.append(RuleFileError(display, node.line, node.column, None,
                                        "each source is a mapping that starts with 'id:'"))
            continue
        id_node = node.get("id")
        source_id = id_node.value if id_node is not None and isinstance(id_node.value, str) else None
        try:
            data = _SourceSchema().load(node.plain())
        except ValidationError as invalid:
            errors.extend(schema_errors(invalid, node, display, source_id, lambda _path: _KEYS,
                                        suggest=_suggestion))
            continue
        source = _source(data)
        if source.id in lines:
            at = node["id"]
            errors.append(RuleFileError(display, at.line, at.column, source.id,
                                        f"duplicate source id '{source.id}': first defined on line "
                                        f"{lines[source.id]}"))
            continue
        lines[source.id] = node["id"].line
        found[source.id] = source
    if errors:
        raise RulesetInvalid(errors)
    return found


def _source(data: Mapping[str, Any]) -> Source:
    return Source(
        id=data["id"],
        authors=(data.get("authors") or "").strip(),
        title=data["title"].strip(),
        published_in=data["published_in"].strip(),
        year=data.get("year"),
        url=(data.get("url") or "").strip() or None,
        doi=(data.get("doi") or "").strip() or None,
        supports=" ".join(data["supports"].split()),
    )


# --- citations -------------------------------------------------------------------------------


def unknown_citations(
    node: Located | None, known: Collection[str], *, allow_default: bool = True
) -> list[tuple[Located, str]]:
    """The items of a ``source`` list (its node) that cite no known source, each with what to say.

    Items that are not ids at all are left to the file's schema. ``rule-default`` resolves
    when ``allow_default``.
    """
    if node is None or not node.is_sequence:
        return []
    found = []
    for item in node.items_():
        cited = item.value
        if not isinstance(cited, str) or not SOURCE_ID.match(cited) or cited in known:
            continue  # not text, or not an id at all: the file's schema says so
        if cited == RULE_DEFAULT:
            if allow_default:
                continue
            found.append((item, f"'{RULE_DEFAULT}' is not a document: cite a source from sources.yaml"))
            continue
        hint = _suggestion(cited, sorted(known))
        found.append((item, f"cites '{cited}', which is not in sources.yaml{hint}"))
    return found


# --- assessments stored before the bibliography --------------------------------------------

#: Assessments stored before the bibliography cite their sources by an older numbering
#: ("S10"); the record resolves each old label through this map to today's ids.
LEGACY_SOURCE_IDS: Final[dict[str, tuple[str, ...]]] = {
    "S1": ("konda-thappa-mesotherapy-2013",),
    "S2": ("vedamurthy-mesotherapy-2007",),
    "S3": ("mammucari-italian-mesotherapy-consensus-2011", "sarkar-iadvl-mesotherapy-position-2011"),
    "S4": ("plachouri-georgiou-mesotherapy-complications-2019", "hair-loss-mesotherapy-systematic-review-2023"),
    "S5": ("beauty-training-portal-mesotherapy", "mesoderm-mesotherapy"),
    "S6": ("ghatge-injectable-ha-skin-quality-2023",),
    "S7": ("el-houssieny-ha-skin-booster-2022",),
    "S8": ("mims-restylane-vital-prescribing-information", "mims-restylane-special-precautions"),
    "S9": ("dhsc-under-18-fillers-guidance-2021", "dhsc-under-18-fillers-enforcement-2021",
           "gphc-children-act-fillers"),
    "S10": ("azpmu-mesotherapy-pre-post-care",),
    "S11": ("gk-beauty-room-skin-boosters", "clean-beauty-coach-who-cant-have-skin-boosters"),
    "S12": ("delight-medical-mesotherapy-safety", "healthfan-mesotherapy-contraindications"),
    "S13": ("e-lactancia-mesotherapy",),
    "S14": ("invitro-injectable-therapy-preparation",),
    "S15": ("doctor-glow-pre-procedure",),
    "S16": ("vaghela-cmac-herpes-simplex-guideline-2021",),
    "S17": ("king-herpetic-infections-2017",),
    "S18": ("droracle-herpes-prophylaxis", "oberhofer-cold-sores-faq", "realself-herpes-outbreaks"),
    "S19": ("doctor-medica-restylane-vital-light",),
    "S20": ("otley-aspirin-warfarin-cutaneous-surgery-2003", "ucsd-perioperative-anticoagulation-dermatology"),
    "S21": ("uhn-cardiac-college-antiplatelets", "droracle-antiplatelets"),
    "S22": ("injx-before-your-appointment",),
    "S23": ("la-vida-before-treatment",),
    "S24": ("your-laser-skin-care-before-fillers",),
    "S25": ("higher-self-skin-dermal-filler",),
    "S26": ("dietary-supplements-bleeding-2022", "healthy-nz-supplements-before-surgery"),
    "S27": ("dtb-ssris-bleeding-2004", "psychdb-ssris-bleeding", "texas-dfps-psychotropic-ssris",
            "singlecare-ssris", "droracle-ssris-bleeding", "ilovetranslation-ssris"),
    "S28": ("chrysolite-fillers-and-alcohol", "doctor-lanna-alcohol-before-filler"),
    "S29": ("niaaa-drinking-levels", "niaaa-at-risk-drinking-2014"),
    "S30": ("waldman-asds-isotretinoin-2017", "mysore-isotretinoin-procedures-2017"),
    "S31": ("medscape-anaesthetic-allergies", "dermnet-local-anaesthetics", "droracle-lidocaine-allergy",
            "sanomedica-lidocaine-cream-allergy", "acep-local-anaesthetic-allergy"),
    "S32": ("experts123-when-not-restylane", "dermanetwork-restylane-medical-conditions"),
    "S33": ("herdt-ha-contraindications",),
    "S34": ("cashmore-profhilo-pre-post-care",),
    "S35": ("ls-enhance-pre-treatment-advice", "ls-enhance-after-advice"),
    "S36": ("skin-fetish-botox-fillers-facials",),
    "S37": ("droracle-tranexamic-acid-screening",),
    "S38": ("thinning-hair-5-alpha-reductase-warnings", "droracle-5-alpha-reductase-inhibitors"),
    "S39": ("savoia-mesotherapy-facial-rejuvenation-2013",),
    "S40": ("clinica-castilla-facial-mesotherapy",),
    "S41": ("juicy-face-profhilo", "bodilight-how-many-treatments"),
    "S43": ("iraji-txa-vitamin-c-glutathione-melasma-2019",),
    "S44": ("puri-glutathione-vitamin-c-melasma",),
    "S45": ("lueangarun-intradermal-txa-melasma-2020",),
    "S46": ("dierickx-ha-acne-scars-2018",),
    "S47": ("eyewiki-periorbital-polynucleotides", "cavallini-polynucleotides-consensus-2020"),
    "S48": ("gajjar-mesotherapy-minoxidil-2019", "waset-female-hair-loss-mesotherapy"),
    "S49": ("hair-loss-mesotherapy-systematic-review-2023",),
    "S50": ("dutasteride-mesotherapy-review-2023", "clinica-arencibia-hair-loss-medicines"),
    "S51": ("elovebook-mesotherapy-downtime",),
    "S52": ("sarah-hamilton-before-a-wedding-2018",),
    "S53": ("singsing-mesotherapy-mycobacteria-2022",),
    "S54": ("healthfan-mesotherapy-contraindications",),
    "S55": ("melrose-treatments-before-an-event",),
    "S56": ("noac-table-cardiovasc-diagn-ther-2016", "err-oral-anticoagulants-table"),
    "S57": ("st-francis-heparins", "pixorize-heparins"),
    "S58": ("reference-com-nsaids-list", "coach-rob-lowe-nsaids", "droracle-nsaids", "get-relief-responsibly-nsaids",
            "medical-news-today-nsaids-list"),
    "S59": ("drugsdose-isotretinoin", "nicoll-what-is-accutane", "liquisearch-isotretinoin"),
    "S60": ("futurederm-prescription-retinoids", "topical-retinoids-review-2022"),
    "S61": ("quizwiz-immunosuppressive-drugs", "st-vincent-immunosuppression", "ckd-explained-immunosuppressants",
            "immunosuppressants-table-pmc7197021"),
    "S62": ("sapphire-roots-hair-mesotherapy", "shannel-watson-hair-mesotherapy-2025"),
}


def resolve_legacy(cited: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A stored ``source`` list with old labels replaced by today's ids (order kept, no repeats)."""
    found: list[str] = []
    for item in cited:
        for source_id in LEGACY_SOURCE_IDS.get(item, (item,)):
            if source_id not in found:
                found.append(source_id)
    return tuple(found)
