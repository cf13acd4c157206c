"""The indicators on Apache Spark: each statement translated from DuckDB's SQL into Spark SQL with sqlglot.

The indicators are written once, as DuckDB SQL over the normalised tables. For data that outgrow one machine,
:func:`run_on_spark` runs the same statements in a Spark session whose catalogue holds the normalised tables under
their own names (for example read from Parquet files that DuckDB wrote with ``COPY table TO 'table.parquet'``).
:func:`spark_sql` does the translation: sqlglot's DuckDB-to-Spark translation, after tenderwatch's own DuckDB
macros are written out in full, plus the few rewrites of :func:`_rewrite` for what sqlglot leaves in DuckDB's form
(docs/spark.md lists them).

Needs the ``spark`` extra (``pip install 'tenderwatch[spark]'``: pyspark and sqlglot) and a Java runtime. A test
runs every indicator on the demo data in both engines and compares the rows each flags
(``tests/indicators/test_spark.py``); docs/spark.md says which indicators pass and what differs.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from tenderwatch.indicators import views
from tenderwatch.indicators.settings import FlagSettings
from tenderwatch.store import macro_definitions, macro_sql, store_variables

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlglot import exp

# Spark settings the translated statements rely on: evidence keeps its null values, as DuckDB's json_object does.
# The session's time zone is the store's (the naive_timezone setting), so that days are counted and dates shown on
# the same calendar as in DuckDB: see spark_evaluations.
SESSION_CONF = {
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
}


@cache
def _macros() -> dict[str, tuple[list[str], exp.Expression]]:
    """tenderwatch's DuckDB macros, by name: their parameters and their body, parsed."""
    definitions = macro_definitions(macro_sql() + ";\n" + views.R8_MACRO)
    return {name: (params, _parse(body)) for name, (params, body) in definitions.items()}


def _parse(sql: str) -> exp.Expression:
    """Parse DuckDB SQL of tenderwatch's, where ``len()`` is the length of a list (text uses ``length()``): read as
    ``array_length()``, which Spark calls ``size()``."""
    import sqlglot  # noqa: PLC0415 - an optional dependency

    return sqlglot.parse_one(re.sub(r"\blen\(", "array_length(", sql), read="duckdb")


def _expand(tree: exp.Expression) -> exp.Expression:
    from sqlglot import exp  # noqa: PLC0415

    macros = _macros()

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in macros:
            params, body = macros[node.name.lower()]
            given = dict(zip(params, node.expressions, strict=True))

            def bind(inner: exp.Expression) -> exp.Expression:
                if isinstance(inner, exp.Column) and not inner.table and inner.name in given:
                    return given[inner.name].copy()
                return inner

            return exp.Paren(this=_expand(body.copy().transform(bind)))
        return node

    return tree.transform(replace)


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    from sqlglot import exp  # noqa: PLC0415

    return exp.Anonymous(this=name, expressions=list(args))


def _sorted_list(order: exp.Order, condition: exp.Expression | None) -> exp.Expression:
    """DuckDB's ``list(x ORDER BY k, ...)``, which Spark has no ordered form of: the list collected as structs of
    the keys and the value, sorted, and the value taken back out (or, ordered by the value itself, sorted)."""
    from sqlglot import exp  # noqa: PLC0415

    value = order.this
    keys = order.expressions
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        value = value.expressions[0]

    def collect(item: exp.Expression) -> exp.Expression:
        collected = _call("collect_list", item)
        if condition is not None:
            collected = exp.Filter(this=collected, expression=exp.Where(this=condition.copy()))
        return _call("array_distinct", collected) if distinct else collected

    if len(keys) == 1 and keys[0].this == value:
        ordered = _call("array_sort", collect(value))
        return _call("reverse", ordered) if keys[0].args.get("desc") else ordered
    if distinct or any(key.args.get("desc") for key in keys):
        raise NotImplementedError(
            "list(DISTINCT ...) or list(... ORDER BY ... DESC) by another expression than the value"
        )
    fields: list[exp.Expression] = []
    for number, key in enumerate(keys):
        fields.extend([exp.Literal.string(f"k{number}"), key.this])
    fields.extend([exp.Literal.string("v"), value])
    element = exp.to_identifier("e")
    return _call(
        "transform",
        _call("array_sort", collect(_call("named_struct", *fields))),
        exp.Lambda(
            this=exp.Dot(this=exp.column("e"), expression=exp.to_identifier("v")),
            expressions=[element],
        ),
    )


def _formatted(pattern: str, value: exp.Expression) -> exp.Expression | None:
    """DuckDB's ``format()`` of one number, in the few patterns the sentences use, as Spark writes it."""
    from sqlglot import exp  # noqa: PLC0415

    if match := re.fullmatch(r"\{:,(?:\.(\d+)f)?\}", pattern):
        return _call("format_number", value, exp.Literal.number(int(match.group(1) or 0)))
    if match := re.fullmatch(r"\{:\.(\d+)f\}", pattern):
        return _call(
            "format_string",
            exp.Literal.string(f"%.{match.group(1)}f"),
            exp.cast(value, "DOUBLE"),
        )
    if pattern == "{:g}":  # the shortest form: no trailing ".0"
        text = exp.cast(value, "STRING")
        return _call("regexp_replace", text, exp.Literal.string(r"\.0$"), exp.Literal.string(""))
    return None


def _without_asof(select: exp.Select) -> exp.Select:
    """DuckDB's ``A ASOF JOIN B ON keys AND B.t >= A.t0``, which Spark does not have: an inner join, ranking for
    each row of A the rows of B by ``B.t`` and keeping the first. Rows of A with the same keys and ``A.t0`` have the
    same nearest row of B, so they are ranked together. As in DuckDB, the statement's WHERE chooses among the rows
    of A, but only filters the nearest row of B: its conditions on B's columns apply after the ranking. The ranked
    query is wrapped in one that keeps the statement's own columns, so each needs a name of its own."""
    from sqlglot import exp  # noqa: PLC0415

    joins = [join for join in select.args.get("joins") or [] if str(join.args.get("method") or "").upper() == "ASOF"]
    names = [projection.alias_or_name for projection in select.expressions]
    if (
        len(joins) != 1
        or not all(names)
        or len(set(names)) < len(names)
        or any(select.args.get(part) for part in ("group", "having", "qualify", "distinct", "order", "limit"))
    ):
        raise NotImplementedError("an ASOF join Spark has no form for: " + select.sql(dialect="duckdb")[:200])
    join = joins[0]
    right = join.this.alias_or_name
    keys: list[exp.Expression] = []
    order: exp.Expression | None = None
    for condition in join.args["on"].flatten() if isinstance(join.args["on"], exp.And) else [join.args["on"]]:
        if isinstance(condition, exp.EQ):
            mine = condition.this if condition.this.find(exp.Column).table == right else condition.expression
            keys.append((condition.expression if mine is condition.this else condition.this).copy())
        elif isinstance(condition, (exp.GTE, exp.GT)) and condition.this.find(exp.Column).table == right:
            order = condition.this.copy()
            keys.append(condition.expression.copy())
        else:
            raise NotImplementedError(f"an ASOF join condition Spark has no form for: {condition.sql()}")
    if order is None:
        raise NotImplementedError("an ASOF join without its inequality")
    join.set("method", None)
    ranked = exp.Window(
        this=exp.Anonymous(this="rank", expressions=[]),
        partition_by=keys,
        order=exp.Order(expressions=[exp.Ordered(this=order)]),
    )
    kept: list[exp.Expression] = []
    after: list[exp.Expression] = []
    where = select.args.get("where")
    if where is not None:
        for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            on_right = any(column.table == right for column in condition.find_all(exp.Column))
            (after if on_right else kept).append(condition)
    select.set("where", exp.Where(this=exp.and_(*kept)) if kept else None)
    select.append("expressions", exp.alias_(ranked, "tw_asof_rank"))
    chosen: exp.Expression = exp.EQ(this=exp.column("tw_asof_rank"), expression=exp.Literal.number(1))
    if after:
        select.append("expressions", exp.alias_(exp.and_(*after), "tw_asof_kept"))
        chosen = exp.and_(chosen, exp.column("tw_asof_kept"))
    return (
        exp.select(*(exp.column(name) for name in names))
        .from_(exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("tw_asof"))))
        .where(chosen)
    )


def _spark_type(shape: Any) -> str:
    """Spark's name of the type of a DuckDB JSON structure, as ``from_json`` takes them."""
    if isinstance(shape, list):
        return f"array<{_spark_type(shape[0])}>"
    if isinstance(shape, dict):
        return "struct<" + ",".join(f"{key}:{_spark_type(value)}" for key, value in shape.items()) + ">"
    return {
        "VARCHAR": "string",
        "DOUBLE": "double",
        "BIGINT": "bigint",
        "INTEGER": "int",
        "BOOLEAN": "boolean",
    }[shape.upper()]


def _rewrite(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp  # noqa: PLC0415

    if isinstance(node, exp.Select) and any(
        str(join.args.get("method") or "").upper() == "ASOF" for join in node.args.get("joins") or []
    ):
        return _without_asof(node)
    if isinstance(node, exp.Select) and node.args.get("group"):
        # a correlated scalar subquery beside the grouping: one value per group, which Spark wants in an aggregate
        for projection in node.expressions:
            for subquery in list(projection.find_all(exp.Subquery)):
                outside = subquery.find_ancestor(exp.AggFunc, exp.Select)
                if outside is node and subquery.find(exp.Column) is not None:
                    subquery.replace(exp.First(this=subquery.copy()))

    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg) and isinstance(node.this.this, exp.Order):
        return _sorted_list(node.this.this, node.expression.this)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _sorted_list(node.this, None)
    if (
        isinstance(node, (exp.First, exp.Last))
        and isinstance(node.this, exp.Order)
        and len(node.this.expressions) == 1
    ):
        # first(x ORDER BY k): the x of the least k
        key = node.this.expressions[0]
        late = bool(key.args.get("desc")) != isinstance(node, exp.Last)
        return _call("max_by" if late else "min_by", node.this.this, key.this)
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, (exp.Min, exp.Max))
        and node.this.args.get("count") is not None
    ):
        # min(x, n) OVER w: the n least values in the window (max: the greatest)
        collected = node.copy()
        collected.set("this", _call("collect_list", node.this.this))
        ordered = _call("array_sort", collected)
        if isinstance(node.this, exp.Max):
            ordered = _call("reverse", ordered)
        return _call("slice", ordered, exp.Literal.number(1), node.this.args["count"])
    if isinstance(node, exp.Format) and isinstance(node.this, exp.Literal) and len(node.expressions) == 1:
        formatted = _formatted(node.this.this, node.expressions[0])
        if formatted is not None:
            return formatted
    if isinstance(node, exp.JSONObject):
        pairs: list[Any] = []
        for pair in node.expressions:
            pairs.extend([pair.this, pair.expression])
        return _call("to_json", _call("named_struct", *pairs))
    if isinstance(node, exp.ArrayOverlaps):
        return _call("arrays_overlap", node.this, node.expression)
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            anchored: exp.Expression = exp.Literal.string(f"^(?:{pattern.this})$")
        else:
            anchored = exp.DPipe(
                this=exp.DPipe(this=exp.Literal.string("^(?:"), expression=pattern),
                expression=exp.Literal.string(")$"),
            )
        return exp.RegexpLike(this=node.this, expression=anchored)
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        part = node.expressions[0]
        start = part.this or exp.Literal.number(1)
        if part.expression is None:
            return _call("slice", node.this, start, _call("size", node.this.copy()))
        length = exp.Add(
            this=exp.Sub(this=part.expression, expression=start.copy()),
            expression=exp.Literal.number(1),
        )
        return _call("slice", node.this, start, length)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_months":
        return _call("make_interval", exp.Literal.number(0), node.expressions[0])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_sum":
        total, item = exp.to_identifier("t"), exp.to_identifier("x")
        return _call(
            "aggregate",
            node.expressions[0],
            exp.cast(exp.Literal.number(0), "DOUBLE"),
            exp.Lambda(
                this=exp.Add(this=exp.column("t"), expression=exp.column("x")),
                expressions=[total, item],
            ),
        )
    if (
        isinstance(node, exp.Anonymous)
        and node.name.lower() == "timezone"
        and isinstance(node.expressions[0], exp.Literal)
        and node.expressions[0].this.upper() == "UTC"
    ):
        # the time in UTC, as Spark shows it in the session's time zone
        return exp.Anonymous(
            this="to_utc_timestamp", expressions=[node.expressions[1], exp.Anonymous(this="current_timezone")]
        )
    if (
        isinstance(node, exp.In)
        and isinstance(node.this, exp.JSONType)
        and {e.name for e in node.expressions} == {"UBIGINT", "BIGINT", "HUGEINT", "DOUBLE"}
    ):
        # is the JSON value a number: Spark reads a JSON value as text, unquoted ("12" as 12), so the value is read
        # again as a variant, whose type tells a number from a text
        value = node.this.this
        if isinstance(value, exp.JSONExtract):
            variant = _call(
                "try_variant_get", _call("try_parse_json", value.this), value.expression, exp.Literal.string("variant")
            )
        else:
            variant = _call("try_parse_json", value)
        return exp.RegexpLike(
            this=_call("schema_of_variant", variant),
            expression=exp.Literal.string(r"^(TINYINT|SMALLINT|INT|BIGINT|FLOAT|DOUBLE|DECIMAL\(.*\))$"),
        )
    if isinstance(node, exp.FromJson) and isinstance(node.expression, exp.Literal) and node.expression.is_string:
        # DuckDB's JSON structure ('[{"id": "VARCHAR"}]') as Spark's type ('array<struct<id:string>>')
        shape = _spark_type(json.loads(node.expression.this))
        return _call("from_json", node.this, exp.Literal.string(shape))
    if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)):
        path = node.expression.sql(dialect="duckdb").strip("'")
        head, star, tail = path.partition("[*]")
        if star:  # a list of JSON values, which Spark reads as a list of texts; or a field of each of them
            listed = _call(
                "from_json",
                _call("get_json_object", node.this, exp.Literal.string(head)),
                exp.Literal.string("array<string>"),
            )
            if not tail:
                return listed
            each = _call("get_json_object", exp.column("e"), exp.Literal.string("$" + tail))
            return _call("transform", listed, exp.Lambda(this=each, expressions=[exp.to_identifier("e")]))
    return node


def _variables() -> dict[str, float | int]:
    """The variables a store sets from the settings (the macros read them), for the settings in force."""
    from tenderwatch.settings import load_settings  # noqa: PLC0415

    return store_variables(load_settings())


def spark_sql(sql: str, variables: Mapping[str, float | int] | None = None) -> str:
    """Return a DuckDB statement of tenderwatch's as Spark SQL, with each ``getvariable(name)`` replaced by its
    value in ``variables`` (by default those a store sets from the settings, see
    :func:`tenderwatch.store.store_variables`)."""
    from sqlglot import exp  # noqa: PLC0415

    values = _variables() if variables is None else variables

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "getvariable":
            name = node.expressions[0]
            if isinstance(name, exp.Literal) and name.this in values:
                return exp.Literal.number(values[name.this])
        return node

    tree = _parse(sql)
    # a node a step replaces is not looked into by the same pass: passes until nothing changes
    text = tree.sql(dialect="duckdb")
    for step in (
        _expand,
        lambda node: node.transform(_rewrite),
        lambda node: node.transform(bind),
    ):
        for _ in range(10):
            tree = step(tree)
            before, text = text, tree.sql(dialect="duckdb")
            if text == before:
                break
    return tree.sql(dialect="spark")


def create_spark_views(spark: Any, settings: FlagSettings, variables: Mapping[str, float | int] | None = None) -> None:
    """Create the indicator views (``ind_*``) in a Spark session that holds the normalised tables."""
    values = _variables() if variables is None else variables
    for name, sql in views.view_statements(settings.common).items():
        spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {spark_sql(sql, values)}")


def spark_evaluations(spark: Any, settings: FlagSettings, codes: list[str] | None = None) -> dict[str, Any]:
    """Run the indicators in a Spark session whose catalogue holds the normalised tables; return, by code, a
    DataFrame of every evaluation: subject, subject_id, ocid, flagged, value, evidence (JSON text) and sentence.

    Without ``codes``, every indicator the settings select runs."""
    from tenderwatch.indicators import INDICATORS  # noqa: PLC0415
    from tenderwatch.indicators.engine import selected_codes  # noqa: PLC0415
    from tenderwatch.settings import load_settings  # noqa: PLC0415

    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    current = load_settings()  # read once, not for each statement
    spark.conf.set("spark.sql.session.timeZone", current.naive_timezone)
    values = store_variables(current)
    create_spark_views(spark, settings, values)
    frames = {}
    for code in selected_codes(settings, codes):
        indicator = INDICATORS[code]
        statement = spark_sql(indicator.sql(settings.for_indicator(code, indicator.settings), settings.common), values)
        frames[code] = spark.sql(
            "SELECT subject, subject_id, ocid, flagged, CAST(value AS DOUBLE) AS value, "
            f"CAST(evidence AS STRING) AS evidence, sentence FROM ({statement})"
        )
    return frames


def run_on_spark(spark: Any, settings: FlagSettings, codes: list[str] | None = None) -> Any:
    """Return one DataFrame of the evaluations of :func:`spark_evaluations`, with the code of each in ``code``."""
    from pyspark.sql import functions  # noqa: PLC0415 - an optional dependency

    frames = [
        frame.select(functions.lit(code).alias("code"), "*")
        for code, frame in spark_evaluations(spark, settings, codes).items()
    ]
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result
