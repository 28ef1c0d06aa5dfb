"""A pySigma backend that turns a Sigma detection into one DuckDB boolean expression over the `events` view.

Every value is written as a SQL string or number literal (single quotes doubled), never as SQL text, so a
rule's values cannot change the query's structure; the converted file is meant to be read and reviewed.

Matching follows the Sigma specification:
- strings match case-insensitively (`lower(col) = lower('v')`, `contains`, `starts_with`, `ends_with`, or
  `ILIKE` with `\\` escapes for `*`/`?` wildcards in the middle); `|cased` matches exactly;
- `|re` is `regexp_matches` (a search, as in Sigma) with the rule's `i`/`m`/`s` flags inline;
- a list-valued column (`user.groups`, `sourceIPs`, `hostPath`, `capabilities`) matches when any element does;
- `field: null` is a missing value; a numeric column compares numbers; `|cidr` uses `ip_in_networks`;
- `not` is `NOT coalesce(<expr>, false)`: a missing value makes a match false, so its negation true, as
  Sigma means, where SQL's NULL would drop the row either way.

What has no sound translation raises `SigmaFeatureNotSupportedByBackendError` with the reason: keywords
(values without a field: the archive has no full-text field), field references, booleans, placeholders.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from kanalytics.sigma.pipeline import COLUMNS, Column, kubernetes_audit_pipeline

# (the expression to test, its column kind) -> a SQL test of it
TestBuilder = Callable[[str, str], str]
_ELEMENT = "v"  # the lambda variable of a list column's element test
_COMPARE = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
}
_DECISION_WORDS = ("allow", "forbid")  # the values of the authorization.k8s.io/decision annotation
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
# Text the catalog loader refuses anywhere in a query (it means a value was pasted in with Python or DB-API
# formatting): a literal holding such text is split around `{` and `%` so it reads as the same string.
_LOOKS_LIKE_PLACEHOLDER = re.compile(r"\{[A-Za-z_]|%[s(]")


def sql_string(text: str) -> str:
    """`text` as a DuckDB string literal: single quotes doubled; nothing in it is SQL."""
    if not _LOOKS_LIKE_PLACEHOLDER.search(text):
        return "'" + text.replace("'", "''") + "'"
    pieces = [p for p in re.split(r"([{%])", text) if p]
    return "(" + " || ".join("'" + p.replace("'", "''") + "'" for p in pieces) + ")"


def _number(value: int | float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise _unsupported(f"{value} is not a number a field can be compared with")
    return repr(value)


def _unsupported(message: str) -> SigmaFeatureNotSupportedByBackendError:
    return SigmaFeatureNotSupportedByBackendError(message)


class ArchiveBackend(TextQueryBackend):
    """Sigma -> a DuckDB boolean expression over the archive's `events` columns (pipeline.COLUMNS)."""

    name: ClassVar[str] = "kanalytics DuckDB (Kubernetes audit archive)"
    formats: ClassVar[dict[str, str]] = {"default": "DuckDB boolean expression over the events view"}
    requires_pipeline: ClassVar[bool] = False
    backend_processing_pipeline = kubernetes_audit_pipeline()

    precedence: ClassVar[tuple[type[ConditionItem], type[ConditionItem], type[ConditionItem]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "
    or_token: ClassVar[str] = "OR"
    and_token: ClassVar[str] = "AND"
    not_token: ClassVar[str] = "NOT"
    eq_token: ClassVar[str] = " = "

    def __init__(self) -> None:
        super().__init__(processing_pipeline=None, collect_errors=False)
        # The COLUMNS keys the rules converted since the last clear() read: the needed audit level follows.
        self.columns_used: set[str] = set()

    # -- boolean structure --------------------------------------------------------------------------------
    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> str:
        inner = self.convert_condition(cond.args[0], state)
        if not isinstance(inner, str):
            raise _unsupported("this negated condition has no SQL form")
        return f"NOT coalesce({inner}, false)"

    # -- field = value --------------------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaString)
        return self._match(
            cond.field, lambda x, kind: self._string_test(cond.field, x, kind, value, cased=False)
        )

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaCasedString)
        return self._match(
            cond.field, lambda x, kind: self._string_test(cond.field, x, kind, value, cased=True)
        )

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaNumber)
        number = _number(value.number)

        def test(x: str, kind: str) -> str:
            return f"{x} = {number}" if kind == "integer" else f"{x} = {sql_string(str(value.number))}"

        return self._match(cond.field, test)

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaCompareExpression)
        op, number = _COMPARE[value.op], _number(value.number.number)

        def test(x: str, kind: str) -> str:
            return f"{x} {op} {number}" if kind == "integer" else f"TRY_CAST({x} AS DOUBLE) {op} {number}"

        return self._match(cond.field, test)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaRegularExpression)
        if value.regexp.contains_placeholder():
            raise _unsupported("placeholders (%name%) in a regular expression are not supported")
        flags = "".join(sorted(_REGEX_FLAGS[f] for f in value.flags))
        pattern = (f"(?{flags})" if flags else "") + str(value.regexp)
        return self._match(
            cond.field, lambda x, kind: f"regexp_matches({self._as_text(x, kind)}, {sql_string(pattern)})"
        )

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaCIDRExpression)
        network = sql_string(str(value.network))

        def test(x: str, kind: str) -> str:
            if kind == "integer":
                raise _unsupported(f"|cidr on {cond.field!r}, a number, can never match")
            return f"ip_in_networks({x}, [{network}])"

        return self._match(cond.field, test)

    def convert_condition_field_eq_val_null(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        column = self._column(cond.field)
        if column.kind == "list":
            return f"coalesce(len({column.sql}), 0) = 0"
        return f"{column.sql} IS NULL"

    def convert_condition_field_eq_val_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaExists)
        column = self._column(cond.field)
        present = (
            f"coalesce(len({column.sql}), 0) > 0" if column.kind == "list" else f"{column.sql} IS NOT NULL"
        )
        return present if value.exists else f"NOT ({present})"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaBool)
        raise _unsupported(
            f"boolean value for {cond.field!r}: the archive has no boolean Kubernetes audit field"
        )

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        raise _unsupported(f"field references (|fieldref on {cond.field!r}) are not supported")

    # -- keywords: values without a field --------------------------------------------------------------------
    def _keyword(self, cond: ConditionValueExpression) -> SigmaFeatureNotSupportedByBackendError:
        return _unsupported(
            f"keyword search ({cond.value!s}): values without a field are not supported, since the archive has "
            "no full-text field; name the field each value should match, e.g. requestURI|contains"
        )

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        raise self._keyword(cond)

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        raise self._keyword(cond)

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        raise self._keyword(cond)

    def convert_condition_query_expr(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        raise self._keyword(cond)

    # -- helpers ----------------------------------------------------------------------------------------------
    def _column(self, field: str) -> Column:
        try:
            column = COLUMNS[field]
        except KeyError:  # the pipeline maps every known field; anything else is refused there
            raise _unsupported(f"field {field!r} is not an archive column") from None
        self.columns_used.add(field)
        return column

    def _match(self, field: str, test: TestBuilder) -> str:
        """`test` over the column of `field`: directly, or for a list column over any of its elements."""
        column = self._column(field)
        if column.kind != "list":
            return test(column.sql, column.kind)
        element = test(_ELEMENT, "text")
        return f"len(list_filter({column.sql}, lambda {_ELEMENT}: {element})) > 0"

    @staticmethod
    def _as_text(x: str, kind: str) -> str:
        return f"CAST({x} AS VARCHAR)" if kind == "integer" else x

    def _string_test(self, field: str, x: str, kind: str, value: SigmaString, *, cased: bool) -> str:
        if value.contains_placeholder():
            raise _unsupported("placeholders (%name%) need a pipeline that defines their values")
        parts = value.s
        wild = [p for p in parts if isinstance(p, SpecialChars)]
        plain = "".join(p for p in parts if isinstance(p, str))
        if kind == "integer":
            if not wild:
                if not re.fullmatch(r"-?[0-9]+", plain):
                    raise _not_a_number(field, plain)
                return f"{x} = {int(plain)}"
            x = self._as_text(x, kind)
        if parts == [SpecialChars.WILDCARD_MULTI]:
            return f"{x} IS NOT NULL"
        fold = (lambda s: s) if cased else (lambda s: f"lower({s})")
        literal = sql_string(plain)
        if not wild:
            return f"{fold(x)} = {fold(literal)}"
        inner = parts[1:-1]
        only_plain = all(isinstance(p, str) for p in inner)
        star = SpecialChars.WILDCARD_MULTI
        if len(parts) == 2 and parts[0] == star and isinstance(parts[1], str):
            return f"ends_with({fold(x)}, {fold(literal)})"
        if len(parts) == 2 and parts[1] == star and isinstance(parts[0], str):
            return f"starts_with({fold(x)}, {fold(literal)})"
        if len(parts) == 3 and parts[0] == star and parts[-1] == star and only_plain:
            return f"contains({fold(x)}, {fold(literal)})"
        pattern = "".join(_like_part(p) for p in parts)
        return f"{x} {'LIKE' if cased else 'ILIKE'} {sql_string(pattern)} ESCAPE '\\'"


def _not_a_number(field: str, text: str) -> SigmaFeatureNotSupportedByBackendError:
    """Why a word compared with a numeric column can never match, naming the Sigma field; a word the
    authorizer writes (allow, forbid) points at the field that holds it."""
    column = COLUMNS[field]
    message = f"the value {text!r} can never match a number ({column.sigma[0]}: {column.description})"
    if text.strip().lower() in _DECISION_WORDS:
        message += (
            f"; the authorizer's {'/'.join(_DECISION_WORDS)} decision is the field "
            f"{COLUMNS['authz_decision'].sigma[0]}"
        )
    return _unsupported(message)


def _like_part(part: object) -> str:
    if part == SpecialChars.WILDCARD_MULTI:
        return "%"
    if part == SpecialChars.WILDCARD_SINGLE:
        return "_"
    text = str(part)
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
