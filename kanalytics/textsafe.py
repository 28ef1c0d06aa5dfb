"""Make text from audit logs harmless to show: control and bidi characters become visible, CSV cells stay text.

Audit logs are attacker-controlled (user agents, object names, user names). Printed raw, an ESC sequence
clears the operator's terminal or retitles the window, a newline forges a whole output line, a right-to-left
override (U+202E) makes `exe.txt` read as `txt.exe`, and a cell starting with `=` runs as a spreadsheet
formula. Every output path (terminal, TSV/CSV, JSON, HTML) goes through one of the functions here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# Bidirectional controls (embeddings, overrides, isolates, marks) and the Unicode line/paragraph separators,
# which reorder or break the text around them without showing themselves.
BIDI_CONTROLS = frozenset(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0x2028, 0x2029]
)
CONTROL_CHARS = frozenset([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])  # C0, DEL, C1
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}

# Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection"), with the
# full-width forms some spreadsheets also accept. OWASP's TAB and CR never start a cell here: `visible`
# has already written them as `\t` and `\r`.
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def _shown(code: int) -> str:
    if code in BIDI_CONTROLS:
        return f"<U+{code:04X}>"
    return _NAMED.get(code) or f"\\x{code:02x}"


_VISIBLE = {code: _shown(code) for code in CONTROL_CHARS | BIDI_CONTROLS}
# HTML keeps tab and newlines (whitespace to a browser; SQL in <pre> keeps its lines).
_HTML_VISIBLE = {code: shown for code, shown in _VISIBLE.items() if code not in _NAMED}
_MARKUP_VISIBLE = {
    code: shown.replace("<", "&lt;").replace(">", "&gt;") for code, shown in _HTML_VISIBLE.items()
}
# JSON: the encoder already escapes C0; escape DEL, C1 and bidi the same way, which decodes to the same text.
_JSON_ESCAPED = {code: f"\\u{code:04x}" for code in CONTROL_CHARS | BIDI_CONTROLS if code >= 0x7F}


def visible(text: str) -> str:
    """`text` for a terminal or a CSV/TSV cell: controls as `\\n`, `\\t`, `\\x1b`, bidi as `<U+202E>`."""
    return text.translate(_VISIBLE)


def visible_html(text: str, *, escaped: bool = False) -> str:
    """`text` for HTML: like `visible` but tab and newlines stay as they are. `escaped`: `text` is already
    HTML, so the `<U+202E>` marks are written as entities."""
    return text.translate(_MARKUP_VISIBLE if escaped else _HTML_VISIBLE)


def escape_json_text(encoded: str) -> str:
    """JSON text from `json.dumps(..., ensure_ascii=False)` with DEL, C1 and bidi controls as `\\uXXXX`.

    These characters can only occur inside JSON strings, where the escape means the same character, so
    the document decodes to the same values while its text shows them.
    """
    return encoded.translate(_JSON_ESCAPED)


def csv_cell(value: Any) -> str | int | float | Decimal:
    """One CSV cell: numbers as they are; text made visible and, if a spreadsheet would read it as a formula,
    prefixed with `'` so it stays text (also when the formula character follows leading spaces)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = visible("" if value is None else str(value))
    if text[:1] in FORMULA_STARTS or text.lstrip()[:1] in FORMULA_STARTS:
        return "'" + text
    return text
