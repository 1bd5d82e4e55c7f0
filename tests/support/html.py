"""Reading pages as a browser would: through an HTML parser, never with regular expressions."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag


def parse(page: str) -> BeautifulSoup:
    return BeautifulSoup(page, "html.parser")


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on a page, as a browser would send it."""
    field = parse(page).find("input", attrs={"name": "csrf_token"})
    assert isinstance(field, Tag) and field.get("value"), "the page has no CSRF token"
    return str(field["value"])


def error_summary(page: str) -> Tag | None:
    """The error summary box of a page, if it has one."""
    found = parse(page).find("div", class_="error-summary")
    return found if isinstance(found, Tag) else None


def problems(page: str) -> list[tuple[str, str]]:
    """(link, message) of each entry in the error summary."""
    summary = error_summary(page)
    if summary is None:
        return []
    return [(str(link.get("href", "")), link.get_text()) for item in summary.find_all("li")
            for link in item.find_all("a", limit=1)]


def _inputs(page: str, name: str) -> list[Tag]:
    return [tag for tag in parse(page).find_all("input", attrs={"name": name}) if isinstance(tag, Tag)]


def field_value(page: str, name: str) -> str | None:
    """The value a text-like input (not a radio or checkbox) is shown with."""
    for tag in _inputs(page, name):
        if tag.get("type") not in ("radio", "checkbox"):
            return str(tag["value"])
    return None


def checked(page: str, name: str) -> list[str]:
    """The values of the checked radios or checkboxes called ``name``."""
    return [str(tag.get("value", "")) for tag in _inputs(page, name) if tag.has_attr("checked")]


def row_headers(page: str, href_prefix: str = "/staff/intakes/") -> list[str]:
    """The text of each table row's header link to ``href_prefix…`` (the patients a table lists), in order."""
    names = []
    for header in parse(page).find_all("th", attrs={"scope": "row"}):
        link = header.find("a", recursive=False)
        if isinstance(link, Tag) and str(link.get("href", "")).startswith(href_prefix):
            names.append(link.get_text())
    return names


def text_of(page: str, element_id: str) -> str:
    """The text of the element with this id, its white space collapsed."""
    found = parse(page).find(id=element_id)
    assert isinstance(found, Tag), f"the page has no #{element_id}"
    return " ".join(found.get_text().split())


def table_rows(page: str, caption: str) -> list[tuple[str, ...]]:
    """The rows of the table with this caption that have a row header: (header, cell, cell, …) as text."""
    for table in parse(page).find_all("table"):
        if table.caption is not None and table.caption.get_text(strip=True) == caption:
            return [tuple(cell.get_text() for cell in row.find_all(["th", "td"], recursive=False))
                    for row in table.find_all("tr") if row.find("th", attrs={"scope": "row"}, recursive=False)]
    raise AssertionError(f"the page has no table '{caption}'")


def row_of(page: str, header: str) -> tuple[str, ...]:
    """The cells (as text) after the row header whose text, or whose link's text, is ``header``."""
    for cell in parse(page).find_all("th", attrs={"scope": "row"}):
        link = cell.find("a")
        named = (link if isinstance(link, Tag) else cell).get_text(strip=True)
        if named == header and cell.parent is not None:
            return tuple(td.get_text() for td in cell.parent.find_all("td", recursive=False))
    raise AssertionError(f"the page has no row headed '{header}'")


def input_attributes(page: str, element_id: str) -> dict[str, str]:
    """The attributes of the input with this id."""
    found = parse(page).find("input", id=element_id)
    assert isinstance(found, Tag), f"the page has no input #{element_id}"
    return {name: " ".join(value) if isinstance(value, list) else str(value) for name, value in found.attrs.items()}


def status_counts(page: str) -> dict[str, int]:
    """The review queue's status links with their counts: {"Awaiting review": 12, ...}."""
    counts = {}
    for count in parse(page).find_all("span", class_="count"):
        link = count.parent
        if isinstance(link, Tag):
            label = "".join(str(text) for text in link.find_all(string=True, recursive=False)).strip()
            counts[label] = int(count.get_text())
    return counts
