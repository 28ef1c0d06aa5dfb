"""Layout problems of a rendered PDF: text that runs out of its box or off the page, table rows split by a page.

The PDF's text layer can be right while the page is wrong: a count printed over the next column, a UUID cut in
the middle, a row whose id is on one page and its title on the next. WeasyPrint lays the document out as a tree
of boxes per page (`Page._page_box`), in CSS pixels, so these are read from the layout instead of from pixels.
The checker takes any rendered `weasyprint.Document` (`HTML(...).render()`): it knows nothing of the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weasyprint.document import Document

TOLERANCE_PX = 1.0  # sub-pixel rounding of glyph advances is not a defect
TEXT_CHARS = 60  # how much of the offending text a problem quotes


@dataclass(frozen=True)
class Problem:
    """One layout defect: `kind` is "overflow" (text wider than its box), "off-page" (text outside the page
    area) or "split-row" (a table row on two pages); `element` is the offending element as `tag.class`."""

    page: int  # 1-based, the first page the problem shows on
    kind: str
    element: str
    text: str
    detail: str  # "12.3 px beyond td.wrap", "pages 3–4"

    def __str__(self) -> str:
        return f"page {self.page}: {self.kind} {self.element} ({self.detail}): {self.text!r}"


def layout_problems(document: Document) -> list[Problem]:
    """Every overflowing text box, text outside the page area and split table row of `document`, in page order.

    A line broken from one long word gives one problem per element and box, not one per line."""
    overflow: dict[tuple[int, str, int, int], Problem] = {}
    rows: dict[int, tuple[int, int, Any]] = {}  # id(element) -> (first page, last page, row box)
    for number, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        for box, container, area in _page_text_boxes(page_box):
            found = _overflow(box, container, area, number)
            if found is None:
                continue
            key = (number, found.kind, id(box.element), id(container))
            overflow.setdefault(key, found)
        for row in _body_rows(page_box):
            first, _, kept = rows.get(id(row.element), (number, number, row))
            rows[id(row.element)] = (first, number, kept)
    split = [
        Problem(first, "split-row", _name(row), _text(row), f"pages {first}–{last}")
        for first, last, row in rows.values()
        if last > first
    ]
    return sorted([*overflow.values(), *split], key=lambda p: (p.page, p.kind, p.element, p.text))


Area = tuple[float, float, float, float]  # left, top, right, bottom


def _page_text_boxes(page_box: Any) -> Iterator[tuple[Any, Any, Area]]:
    """(inline box, the block it must fit in, the page area it must stay in) for every text and atomic inline
    (inline-block, image) box of a page. The page's content goes in its content area; margin boxes (running
    headers, page numbers) may use the whole sheet."""
    from weasyprint.formatting_structure import boxes

    left, top = page_box.content_box_x(), page_box.content_box_y()
    content: Area = (left, top, left + page_box.width, top + page_box.height)
    sheet: Area = (0.0, 0.0, page_box.margin_width(), page_box.margin_height())
    for child in page_box.children:
        yield from _text_boxes(child, child, sheet if isinstance(child, boxes.MarginBox) else content)


def _text_boxes(box: Any, container: Any, area: Area) -> Iterator[tuple[Any, Any, Area]]:
    """The text and atomic inline boxes under `box`, each with its nearest block container. List markers sit
    outside their item by design, and so are left out."""
    from weasyprint.formatting_structure import boxes

    for child in box.children:
        if not isinstance(child, boxes.Box) or child.is_outside_marker:
            continue
        if isinstance(child, boxes.TextBox | boxes.AtomicInlineLevelBox):
            yield child, container, area
        if isinstance(child, boxes.ParentBox):
            inner = child if isinstance(child, boxes.BlockContainerBox) else container
            yield from _text_boxes(child, inner, area)


def _overflow(box: Any, container: Any, area: Area, page: int) -> Problem | None:
    left, right = box.border_box_x(), box.border_box_x() + box.border_width()
    top, bottom = box.border_box_y(), box.border_box_y() + box.border_height()
    beyond_page = max(area[0] - left, area[1] - top, right - area[2], bottom - area[3])
    if beyond_page > TOLERANCE_PX:
        return Problem(
            page, "off-page", _name(box), _text(box), f"{beyond_page:.1f} px outside the page area"
        )
    inner_left = container.content_box_x()
    beyond_box = max(inner_left - left, right - (inner_left + container.width))
    if beyond_box > TOLERANCE_PX:
        return Problem(
            page, "overflow", _name(box), _text(box), f"{beyond_box:.1f} px beyond {_name(container)}"
        )
    return None


def _body_rows(page_box: Any) -> Iterator[Any]:
    """Table rows outside a thead/tfoot: a repeated header row is on every page of its table on purpose."""
    from weasyprint.formatting_structure import boxes

    for box in page_box.descendants():
        if isinstance(box, boxes.TableRowGroupBox) and not (box.is_header or box.is_footer):
            yield from (row for row in box.children if isinstance(row, boxes.TableRowBox))


def _name(box: Any) -> str:
    """`tag.class1.class2` of the element a box was made for (the tag alone for anonymous boxes)."""
    element = box.element
    classes = (element.get("class") or "").split() if element is not None else []
    return ".".join([box.element_tag, *classes])


def _text(box: Any) -> str:
    from weasyprint.formatting_structure import boxes

    parts = [b.text for b in box.descendants() if isinstance(b, boxes.TextBox)]
    text = " ".join(" ".join(parts).split())
    return text[:TEXT_CHARS]
