"""AST rewrites that keep a DuckDB expression's meaning where sqlglot's duckdb -> spark translation does not.

Each rewrite works on the DuckDB tree (after the macros are inlined) and names the DuckDB semantics it keeps;
tests/catalog/test_spark_portability.py holds Spark's rows equal to DuckDB's over the portable queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import sqlglot
from sqlglot import exp

# The columns of a relation the query reads (events, a shared view), or None when unknown.
ColumnsOf = Callable[[str], Sequence[str] | None]


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _string(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("string"))


def _format(node: exp.Format) -> exp.Expression:
    """DuckDB format('{} x {}', a, b): each `{}` the argument as VARCHAR, NULL when any argument is NULL.
    Spark's concat() is NULL when any argument is, so it keeps both the text and the NULL."""
    template = node.this
    if not isinstance(template, exp.Literal) or not template.is_string:
        return node
    text = template.this
    if "{{" in text or "}}" in text or "{:" in text:
        return node  # escapes and format specs are not used by the catalog; left to fail the lint
    pieces = text.split("{}")
    args = list(node.expressions)
    if len(pieces) != len(args) + 1:
        return node
    parts: list[exp.Expression] = []
    for i, piece in enumerate(pieces):
        if piece:
            parts.append(exp.Literal.string(piece))
        if i < len(args):
            parts.append(_string(args[i]))
    return _fn("concat", *parts) if parts else exp.Literal.string("")


def _group_concat(node: exp.GroupConcat) -> exp.Expression:
    """string_agg(DISTINCT x, sep ORDER BY x): the distinct non-null values sorted and joined, NULL when there
    are none (as DuckDB). Only the DISTINCT form ordered by its own value has a Spark 3.5 twin."""
    inner = node.this
    order = None
    if isinstance(inner, exp.Order):
        order, inner = inner, inner.this
    if not isinstance(inner, exp.Distinct) or len(inner.expressions) != 1:
        return node
    value = inner.expressions[0]
    if order is not None:
        keys = order.expressions
        if len(keys) != 1 or keys[0].this != value or keys[0].args.get("desc"):
            return node
    sep = node.args.get("separator") or exp.Literal.string(",")
    values = _fn("array_sort", _fn("collect_set", _string(value)))
    return exp.If(
        this=exp.EQ(this=_fn("size", values.copy()), expression=exp.Literal.number(0)),
        true=exp.Null(),
        false=_fn("array_join", values, sep),
    )


def _json_path(parts: Sequence[exp.Expression]) -> exp.Expression:
    return exp.JSONPath(expressions=[exp.JSONPathRoot(), *(p.copy() for p in parts)])


def _is_wildcard(part: exp.Expression) -> bool:
    return isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, exp.JSONPathWildcard)


def _json_wildcard(node: exp.JSONExtract | exp.JSONExtractScalar) -> exp.Expression:
    """DuckDB json_extract(_string)(doc, '$.a[*].b'): a list with one entry per element of `a` that has `b`
    (NULL for a JSON null), [] when `a` is missing. Spark's get_json_object unwraps a single match, so the list
    is built explicitly: the array as JSON texts, each element's remaining path, missing ones dropped; a
    second wildcard (`$.rules[*].verbs[*]`) flattens the per-element lists, as DuckDB's one flat list."""
    path = node.expression
    parts = list(path.expressions[1:]) if isinstance(path, exp.JSONPath) else []
    if not any(_is_wildcard(p) for p in parts):
        return node
    return _matches(node.this, parts, 0)


def _matches(doc: exp.Expression, parts: Sequence[exp.Expression], depth: int) -> exp.Expression:
    """The JSON texts `parts` (a path with at least one wildcard) selects in `doc`, as an array<string>."""
    star = next(i for i, p in enumerate(parts) if _is_wildcard(p))
    prefix, rest = parts[:star], parts[star + 1 :]
    array = exp.Coalesce(
        this=_fn(
            "from_json",
            _fn("get_json_object", doc, _json_path(prefix)),
            exp.Literal.string("array<string>"),
        ),
        expressions=[exp.Cast(this=_fn("array"), to=exp.DataType.build("array<string>"))],
    )
    if not rest:
        return array
    element = exp.column(f"kjson{depth}")
    if any(_is_wildcard(p) for p in rest):
        nested = _fn("transform", array, _lambda(element.name, _matches(element, rest, depth + 1)))
        return _fn("flatten", nested)
    value = _fn("get_json_object", element, _json_path(rest))
    picked = _fn("transform", array, _lambda(element.name, value))
    kept = exp.Not(this=exp.Is(this=exp.column(f"kv{depth}"), expression=exp.Null()))
    return _fn("filter", picked, _lambda(f"kv{depth}", kept))


def _regexp_full_match(node: exp.RegexpFullMatch) -> exp.Expression:
    """DuckDB regexp_full_match(s, p): p matches the whole of s. Spark 3.5 has no full match; RLIKE finds p
    anywhere, so the pattern is anchored at both ends around a group (keeping `a|b` whole)."""
    pattern = node.expression
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        anchored: exp.Expression = exp.Literal.string(f"^(?:{pattern.this})$")
    else:  # a pattern built with || (the sensitive host paths): anchored the same way at run time
        anchored = _fn("concat", exp.Literal.string("^(?:"), pattern, exp.Literal.string(")$"))
    return exp.RegexpLike(this=node.this, expression=anchored)


_KEY_PATH = re.compile(r"\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _json_exists(args: Sequence[exp.Expression], node: exp.Expression) -> exp.Expression:
    """DuckDB json_exists(doc, '$.a.b'): TRUE when key b is in object a, even with a JSON null value; NULL for a
    NULL doc. Spark's get_json_object cannot tell null from missing, so the key is looked up among the parent
    object's keys (json_object_keys is NULL for a missing parent or a non-object: FALSE, as DuckDB)."""
    doc, path = args
    match = _KEY_PATH.fullmatch(path.this) if isinstance(path, exp.Literal) and path.is_string else None
    if match is None:
        return node
    *parents, key = match.group(1)[1:].split(".")
    parent = _fn("get_json_object", doc, exp.Literal.string("$" + "".join(f".{p}" for p in parents)))
    found = _fn("array_contains", _fn("json_object_keys", parent), exp.Literal.string(key))
    return exp.If(
        this=exp.Is(this=doc.copy(), expression=exp.Null()),
        true=exp.Null(),
        false=exp.Coalesce(this=found, expressions=[exp.false()]),
    )


def _ordered_list(node: exp.ArrayAgg) -> exp.Expression:
    """DuckDB list(x ORDER BY y [DESC]): x of every row (NULLs kept), sorted by y, NULL keys last. Spark 3.5's
    collect_list has no order, so (key is null, key, x) structs are collected, sorted and unwrapped."""
    order = node.this
    if not isinstance(order, exp.Order) or len(order.expressions) != 1:
        return node
    (key,) = order.expressions
    desc = bool(key.args.get("desc"))
    if key.args.get("nulls_first"):
        return node
    null_flag: exp.Expression = exp.Is(this=key.this.copy(), expression=exp.Null())
    if desc:  # reversed afterwards: the NULL keys must sort first to end last
        null_flag = exp.Not(this=null_flag)
    entry = _fn(
        "named_struct",
        exp.Literal.string("n"),
        null_flag,
        exp.Literal.string("k"),
        key.this.copy(),
        exp.Literal.string("v"),
        order.this.copy(),
    )
    sorted_entries: exp.Expression = _fn("array_sort", _fn("collect_list", entry))
    if desc:
        sorted_entries = _fn("reverse", sorted_entries)
    value = exp.Dot(this=exp.column("ke"), expression=exp.to_identifier("v"))
    return _fn("transform", sorted_entries, _lambda("ke", value))


def _distinct_window(node: exp.Window) -> exp.Expression:
    """count(DISTINCT x) OVER w / list(DISTINCT x) OVER w: Spark 3.5 has no DISTINCT window aggregates, but
    collect_set over the same window is the distinct non-null values (their order is DuckDB's arbitrary one
    too, and the catalog sorts such lists); its size is DuckDB's count, 0 for an empty frame."""
    function = node.this
    inner = function.this if isinstance(function, exp.Count | exp.ArrayAgg) else None
    if not isinstance(inner, exp.Distinct) or len(inner.expressions) != 1:
        return node
    window = node.copy()
    window.set("this", _fn("collect_set", inner.expressions[0].copy()))
    return _fn("size", window) if isinstance(function, exp.Count) else window


def bind_frame_bounds(tree: exp.Expression, params: Mapping[str, object]) -> exp.Expression:
    """Window frame bounds computed from parameters (`RANGE BETWEEN ($period_start - $baseline_start)
    PRECEDING ...`, the baseline's length) folded into an interval literal: Spark 3.5 accepts only literal
    frame bounds, of one interval type, so both bounds of such a frame are written DAY TO SECOND. Only the
    difference of two timestamp parameters is folded; anything else is left alone."""
    for spec in list(tree.find_all(exp.WindowSpec)):
        spans: dict[str, timedelta] = {}
        for side in ("start", "end"):
            bound = spec.args.get(side)
            inner = bound.unnest() if isinstance(bound, exp.Expression) else None
            if isinstance(inner, exp.Sub):
                a, b = (_placeholder_value(x, params) for x in (inner.this, inner.expression))
                if isinstance(a, datetime) and isinstance(b, datetime):
                    spans[side] = a - b
            elif isinstance(inner, exp.Interval):
                fixed = _fixed_span(inner)
                if fixed is not None:
                    spans[side] = fixed
        if not any(_is_sub(spec.args.get(side)) for side in spans):
            continue
        for side, span in spans.items():
            spec.set(side, _day_to_second(span))
    return tree


def _is_sub(bound: object) -> bool:
    return isinstance(bound, exp.Expression) and isinstance(bound.unnest(), exp.Sub)


_UNIT_SECONDS = {"DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1}


def _fixed_span(interval: exp.Interval) -> timedelta | None:
    unit = interval.args.get("unit")
    value = interval.this
    name = unit.name.upper().rstrip("S") if isinstance(unit, exp.Expression) else ""
    if name not in _UNIT_SECONDS or not isinstance(value, exp.Literal):
        return None
    try:
        return timedelta(seconds=float(value.this) * _UNIT_SECONDS[name])
    except ValueError:
        return None


def _day_to_second(span: timedelta) -> exp.Expression:
    """INTERVAL 'd hh:mm:ss.ffffff' DAY TO SECOND of a non-negative span."""
    hours, rest = divmod(span.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{span.days} {hours:02}:{minutes:02}:{seconds:02}.{span.microseconds:06}"
    return exp.Interval(this=exp.Literal.string(text), unit=exp.Var(this="DAY TO SECOND"))


def _placeholder_value(node: exp.Expression, params: Mapping[str, object]) -> object:
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    return params.get(node.name) if isinstance(node, exp.Placeholder) else None


def _node(node: exp.Expression) -> exp.Expression:
    if (
        isinstance(node, exp.Lambda)
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
        and node.this.this.startswith("$")
        and len(node.expressions) == 1
    ):
        # sqlglot reads `doc -> '$.path'` inside a function's arguments as a lambda; it is DuckDB's JSON arrow.
        return _fn("get_json_object", exp.column(node.expressions[0].name), node.this)
    if isinstance(node, exp.JSONExtract | exp.JSONExtractScalar):
        return _json_wildcard(node)
    if isinstance(node, exp.RegexpFullMatch):
        return _regexp_full_match(node)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node)
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Count | exp.ArrayAgg):
        return _distinct_window(node)
    if isinstance(node, exp.Dayname):
        # DuckDB dayname: the English weekday name ("Monday"); Spark 3.5 has no dayname, date_format 'EEEE' is it.
        return _fn("date_format", node.this, exp.Literal.string("EEEE"))
    if isinstance(node, exp.DayOfWeekIso):
        # DuckDB isodow: 1 = Monday .. 7 = Sunday; Spark's weekday() is 0 = Monday (sqlglot's dayofweek
        # arithmetic makes Sunday 2).
        return exp.Add(this=_fn("weekday", node.this), expression=exp.Literal.number(1))
    if isinstance(node, exp.Length):
        # The catalog calls len() on lists only (source_ips, user_groups, ...): Spark's length() is for
        # strings; size() of NULL is NULL with SESSION_CONF's spark.sql.legacy.sizeOfNull=false.
        return _fn("size", node.this)
    if isinstance(node, exp.Format):
        return _format(node)
    if isinstance(node, exp.GroupConcat):
        return _group_concat(node)
    if isinstance(node, exp.TimeToUnix) and isinstance(node.this, exp.Sub):
        # DuckDB epoch(a - b) of two timestamps: the interval's seconds (the catalog subtracts timestamps only).
        micros = exp.Sub(
            this=_fn("unix_micros", node.this.this), expression=_fn("unix_micros", node.this.expression)
        )
        return exp.Div(
            this=exp.Cast(this=exp.Paren(this=micros), to=exp.DataType.build("double")),
            expression=exp.Literal.number(1000000),
        )
    if isinstance(node, exp.TimeToUnix):
        # DuckDB epoch(ts): seconds as DOUBLE with the microseconds; Spark's unix_timestamp drops them.
        seconds = exp.Cast(this=_fn("unix_micros", node.this), to=exp.DataType.build("double"))
        return exp.Div(this=seconds, expression=exp.Literal.number(1000000))
    if isinstance(node, exp.ArrayOverlaps):
        return _fn("arrays_overlap", node.this, node.expression)
    if isinstance(node, exp.Anonymous):
        return _anonymous(node)
    return node


def _anonymous(node: exp.Anonymous) -> exp.Expression:
    name = str(node.this).lower()
    args = list(node.expressions)
    if name == "timezone" and len(args) == 2:
        # DuckDB timezone(zone, timestamptz): the wall-clock time in `zone`. Spark (session zone UTC):
        # from_utc_timestamp, whose result read in UTC is that wall-clock time.
        return _fn("from_utc_timestamp", args[1], args[0])
    if name == "list_slice" and len(args) == 3:
        # 1-based, both ends inclusive, clamped to the list (DuckDB) -> Spark slice(list, start, length), for a
        # literal positive start; the length is kept >= 0 (slice refuses a negative one, DuckDB gives []).
        start, stop = args[1], args[2]
        if not (isinstance(start, exp.Literal) and start.is_int and int(start.this) > 0):
            return node
        if isinstance(stop, exp.Literal) and stop.is_int and int(stop.this) > 0:
            length: exp.Expression = exp.Literal.number(max(int(stop.this) - int(start.this) + 1, 0))
        else:
            span = exp.Sub(this=exp.Paren(this=stop), expression=exp.Literal.number(int(start.this) - 1))
            length = exp.Greatest(this=span, expressions=[exp.Literal.number(0)])
        return _fn("slice", args[0], start, length)
    if name == "to_hours" and len(args) == 1:
        # DuckDB to_hours(n): an interval of n hours; Spark's make_dt_interval(days, hours) is the same span.
        return _fn("make_dt_interval", exp.Literal.number(0), args[0])
    if name == "json_exists" and len(args) == 2:
        return _json_exists(args, node)
    if name == "list_bool_or" and len(args) == 1:
        return _fn("exists", args[0], _lambda("kx", exp.column("kx")))
    if name == "list_bool_and" and len(args) == 1:
        return _fn("forall", args[0], _lambda("kx", exp.column("kx")))
    if name == "list_has_all" and len(args) == 2:
        # Every element of the second list is in the first (DuckDB ignores NULL elements of the second).
        x = exp.column("kx")
        test = exp.Or(
            this=exp.Is(this=x, expression=exp.Null()), expression=_fn("array_contains", args[0], x)
        )
        return _fn("forall", args[1], _lambda("kx", test))
    return node


def _lambda(name: str, body: exp.Expression) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(name)])


def expand_qualify_stars(tree: exp.Expression, columns_of: ColumnsOf) -> exp.Expression:
    """`SELECT *, x AS y FROM t ... QUALIFY ...` with the star spelled out as t's columns. Spark 3.5 has no
    QUALIFY; sqlglot moves the select into a subquery filtered outside, and its outer `*, y` would repeat y
    and keep the window column, unless the inner select names its columns."""
    for select in list(tree.find_all(exp.Select)):
        if not select.args.get("qualify") or select.args.get("joins"):
            continue
        stars = [p for p in select.expressions if isinstance(p, exp.Star)]
        source = _from(select)
        table = source.this if source is not None else None
        if not stars or not isinstance(table, exp.Table):
            continue
        columns = columns_of(table.name)
        if columns is None:
            continue
        defined = {p.alias_or_name for p in select.expressions if not isinstance(p, exp.Star)}
        spelled = [exp.column(c) for c in columns if c not in defined]
        projections: list[exp.Expression] = []
        for p in select.expressions:
            projections.extend(spelled if isinstance(p, exp.Star) else [p])
        select.set("expressions", projections)
    return tree


def _from(select: exp.Select) -> exp.From | None:
    found = select.args.get("from_") or select.args.get("from")
    return found if isinstance(found, exp.From) else None


def output_columns(sql: str, columns_of: ColumnsOf) -> list[str] | None:
    """The column names of a one-SELECT view (its star as its source's columns), or None when unknown."""
    select = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(select, exp.Select):
        return None
    names: list[str] = []
    for p in select.expressions:
        if isinstance(p, exp.Star):
            source = _from(select)
            table = source.this if source is not None else None
            inner = columns_of(table.name) if isinstance(table, exp.Table) else None
            if inner is None:
                return None
            names.extend(c for c in inner if c not in names)
        elif p.alias_or_name not in names:
            names.append(p.alias_or_name)
    return names


def rewrite(tree: exp.Expression, columns_of: ColumnsOf) -> exp.Expression:
    """`tree` (DuckDB) with every rewrite above applied. sqlglot's transform does not descend into the node a
    rewrite returns (a format() argument, an arrays_overlap operand), so it runs until nothing changes; every
    rewrite's output is a node no rewrite matches again, which bounds the rounds by the nesting depth."""
    for _ in range(_MAX_ROUNDS):
        rewritten = tree.transform(_node)
        if rewritten == tree:
            break
        tree = rewritten
    return expand_qualify_stars(tree, columns_of)


_MAX_ROUNDS = 16
