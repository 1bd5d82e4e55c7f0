"""The translation catalogs' own tools, run by scripts/translations: the pseudo-locale and the completeness check.

``python -m intake.cli.catalogs pseudo POT DIR`` writes DIR/en@xa/LC_MESSAGES/messages.po from the
template: every message accented and about 35 % longer, placeholders (``%(name)s``, ``{start}``)
and markup kept, so a page in en-XA shows any text that does not go through the catalogs, and
any layout that breaks with longer words.

``python -m intake.cli.catalogs check POT DIR LANG...`` fails, naming each msgid, when a
language's catalog misses a message of the template, leaves one untranslated or fuzzy, or drops a
placeholder; and when its compiled .mo does not hold what its .po says (compare, not dates: a
fresh clone's files all have the checkout's time).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po

#: Babel's folder of each language tag that is not a plain Babel locale name.
FOLDERS = {"en-XA": "en@xa"}
#: What the pseudo-locale keeps as written: %(name)s, %(size).0f, %s, {start}, markup, entities.
KEEP = re.compile(r"%\([a-z_]+\)(?:\.\d+)?[sdf]|%[sd]|\{[a-z_]+\}|<[^>]+>|&[a-z#0-9]+;")
ACCENTS = str.maketrans("aceinousyACEINOUSYdDgGhHlLrRtTzZ", "åçéîñöûšýÅÇÉÎÑÖÛŠÝďĎğĞħĦļĻŕŔţŢžŽ")
#: A placeholder, as a translation must keep it.
PLACEHOLDER = re.compile(r"%\([a-z_]+\)(?:\.\d+)?[sdf]|\{[a-z_]+\}")


def folder(tag: str) -> str:
    return FOLDERS.get(tag, tag.replace("-", "_"))


def pseudo(text: str) -> str:
    """``text`` accented, lengthened by about 35 % and bracketed, its placeholders and markup kept."""
    if not text:
        return text
    parts, last = [], 0
    for match in KEEP.finditer(text):
        parts.append(text[last:match.start()].translate(ACCENTS))
        parts.append(match.group(0))
        last = match.end()
    parts.append(text[last:].translate(ACCENTS))
    body = "".join(parts)
    padding = "·" * max(1, round(len(text) * 0.35))
    return f"[{body} {padding}]"


def pseudo_catalog(template: Catalog) -> Catalog:
    catalog = Catalog(locale="en", project=template.project, version=template.version, fuzzy=False)
    for message in template:
        if not message.id:
            continue
        ids = _ids(message)
        string: str | tuple[str, ...] = tuple(pseudo(form) for form in ids) if message.pluralizable else pseudo(ids[0])
        catalog.add(message.id, string, locations=message.locations, flags=message.flags - {"fuzzy"},
                    auto_comments=message.auto_comments, context=message.context)
    return catalog


def write_pseudo(pot: Path, directory: Path) -> Path:
    """The pseudo-locale's .po from the template ``pot``, in ``directory``/en@xa (compile it after)."""
    with pot.open("rb") as handle:
        template = read_po(handle)
    target = directory / folder("en-XA") / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        write_po(handle, pseudo_catalog(template), width=120)
    return target


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(str(i) for i in message.id) if isinstance(message.id, tuple | list) else (str(message.id),)


def _strings(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, tuple | list):
        return tuple(str(s) for s in message.string)
    return (str(message.string),) if message.string else ()


def problems(template: Catalog, catalog: Catalog) -> list[str]:
    """What keeps ``catalog`` from being complete against ``template``, one line per msgid."""
    found = []
    for wanted in template:
        if not wanted.id:
            continue
        message = catalog.get(wanted.id, context=wanted.context)
        shown = _ids(wanted)[0]
        if message is None:
            found.append(f"missing: {shown!r}")
            continue
        strings = _strings(message)
        if not strings or not all(strings):
            found.append(f"untranslated: {shown!r}")
        elif message.fuzzy:
            found.append(f"fuzzy: {shown!r}")
        else:
            needed = set(PLACEHOLDER.findall(" ".join(_ids(wanted))))
            for string in strings:
                lost = needed - set(PLACEHOLDER.findall(string))
                if wanted.pluralizable:
                    lost -= {"%(num)s", "%(num)d"}  # a plural form may say "one" or "two" instead
                if lost:
                    found.append(f"placeholder {', '.join(sorted(lost))} lost: {shown!r}")
                    break
    return found


def check(pot: Path, directory: Path, languages: Iterable[str]) -> list[str]:
    """Every problem of each language's catalog, prefixed with the language."""
    with pot.open("rb") as handle:
        template = read_po(handle)
    report = []
    for tag in languages:
        po = directory / folder(tag) / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            report.append(f"{tag}: no catalog at {po}")
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=folder(tag))
        report += [f"{tag}: {line}" for line in problems(template, catalog)]
        mo = po.with_suffix(".mo")
        if not mo.is_file() or _translations(_read_mo(mo)) != _translations(catalog):
            report.append(f"{tag}: {mo} is missing or differs from its .po (scripts/translations compile)")
    return report


def _read_mo(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_mo(handle)


def _translations(catalog: Catalog) -> dict[tuple[str, ...], tuple[str, ...]]:
    """What a catalog translates (fuzzy and empty entries are not compiled), to compare a .mo with its .po."""
    return {_ids(m): _strings(m) for m in catalog if m.id and not m.fuzzy and all(_strings(m)) and _strings(m)}


def main(argv: Sequence[str]) -> int:
    if len(argv) >= 3 and argv[0] == "pseudo":
        print(write_pseudo(Path(argv[1]), Path(argv[2])))
        return 0
    if len(argv) >= 4 and argv[0] == "check":
        report = check(Path(argv[1]), Path(argv[2]), argv[3:])
        for line in report:
            print(line, file=sys.stderr)
        print(f"{len(report)} problem(s) in {', '.join(argv[3:])}", file=sys.stderr if report else sys.stdout)
        return 1 if report else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
