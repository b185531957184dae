"""Read a shop database mapping from YAML, keeping the line of every key for error messages.

The file has a ``source`` section and one section per table role::

    source:
      url: mysql+pymysql://reader:${SHOP_DB_PASSWORD}@db.internal/shop?charset=utf8mb4
      timezone: Asia/Ho_Chi_Minh
    customers:
      table: khach_hang
      key: id
      watermark: ngay_cap_nhat
      columns:
        gender: {column: gioi_tinh, codes: {1: male, 2: female}, default: null}

``examples/shopdb-mapping.yaml`` and ``docs/shopdb.md`` describe every key. A
password written in the file is rejected: the URL must take it from an environment
variable. ``load_mapping`` raises the first problem. ``read_mapping`` goes on past each
problem and returns all of them, with the parts of the mapping that could be read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from segmento.adapters.shopdb.mapping import (
    REQUIRED_ROLES,
    ROLES,
    TARGETS,
    WATERMARKED,
    ColumnMap,
    OrderStatuses,
    ReconcilePolicy,
    Role,
    ShopMapping,
    TableMap,
    TargetSpec,
    literal_password,
)
from segmento.engine.catalog import closest
from segmento.engine.errors import DataError, Location, SegmentoError
from segmento.engine.temporal import DEFAULT_TIMEZONE, load_timezone

DEFAULT_BATCH_SIZE: Final = 1000
SOURCE_KEYS: Final = frozenset({"url", "timezone", "batch_size", "settle_seconds", "reconcile"})
TABLE_KEYS: Final = frozenset({"table", "key", "watermark", "columns", "statuses"})
COLUMN_KEYS: Final = frozenset({"column", "codes", "default", "scale", "timezone"})
STATUS_KEYS: Final = frozenset({"skip", "returns"})
INTERVAL: Final = re.compile(r"(\d+)\s*([mhd])")
INTERVAL_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}

T = TypeVar("T")


@dataclass
class MappingRead:
    """The result of ``read_mapping``: the mapping, or ``None`` when the file could not be read, and every problem.

    With problems, ``mapping`` contains only the parts that could be read: a table whose
    name or key is invalid is left out, and ``url`` is empty when it is missing or
    contains a password.
    """

    mapping: ShopMapping | None
    problems: list[DataError] = field(default_factory=list)


def _collect(problems: list[DataError], step: Callable[[], T], fallback: T) -> T:
    """Return ``step()``, or record its ``DataError`` in ``problems`` and return ``fallback``."""
    try:
        return step()
    except DataError as error:
        problems.append(error)
        return fallback


class _Section:
    """A YAML mapping node with the location of each of its keys."""

    def __init__(
        self, node: Node, path: Path, pointer: str, constructor: yaml.SafeLoader, problems: list[DataError]
    ) -> None:
        self.path = path
        self.pointer = pointer
        self.constructor = constructor
        self.problems = problems
        self.location = _location(node, path, pointer)
        if not isinstance(node, MappingNode):
            raise DataError("expected a mapping of keys to values", location=self.location, code="shopdb_mapping")
        self.items: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            self.items[str(self.constructor.construct_object(key_node, deep=True))] = (key_node, value_node)

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Record a problem for every key not in ``allowed``."""
        allowed = sorted(allowed)
        for key in self.items:
            if key not in allowed:
                suggestion = closest(key, allowed)
                self.problems.append(
                    DataError(
                        f"unknown key {key!r}",
                        location=self.key_location(key),
                        value=key,
                        hint=(f"Did you mean {suggestion!r}? " if suggestion else "") + "Keys here: " + ", ".join(allowed),
                        code="shopdb_mapping",
                    )
                )

    def misspelling_of(self, key: str, allowed: Iterable[str]) -> str | None:
        """Return the unknown key whose did-you-mean hint from ``check_keys`` names ``key``, else ``None``.

        A missing ``key`` then needs no problem of its own, because the unknown key's hint
        already names ``key``.
        """
        allowed = sorted(allowed)
        for unknown in self.items:
            if unknown not in allowed and closest(unknown, allowed) == key:
                return unknown
        return None

    def key_location(self, key: str) -> Location:
        node = self.items[key][0] if key in self.items else None
        return _location(node, self.path, f"{self.pointer}/{key}") if node is not None else self.location

    def value(self, key: str, default: Any = None) -> Any:
        if key not in self.items:
            return default
        return self.constructor.construct_object(self.items[key][1], deep=True)

    def node(self, key: str) -> Node | None:
        item = self.items.get(key)
        return item[1] if item is not None else None

    def section(self, key: str) -> _Section | None:
        node = self.node(key)
        if node is None:
            return None
        return _Section(node, self.path, f"{self.pointer}/{key}", self.constructor, self.problems)

    def name(self, key: str, *, required: bool) -> str | None:
        """Return the value of ``key`` as a non-empty name, such as a table or column name."""
        value = self.value(key)
        if value is None:
            if required:
                raise DataError(f"missing key {key!r}", location=self.location, code="shopdb_mapping")
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise DataError(f"{key!r} must be a name", location=self.key_location(key), value=value, code="shopdb_mapping")
        return str(value).strip()


def load_mapping(path: str | Path) -> ShopMapping:
    """Read the mapping file at ``path``; raise ``DataError`` naming the file, line and key.

    The error raised is the first problem in the file; ``read_mapping`` lists them all.
    """
    result = read_mapping(path)
    if result.problems or result.mapping is None:
        # read_mapping returns no mapping only together with the problem that explains why.
        first = result.problems[0]
        others = len(result.problems) - 1
        if others:
            # No total: the check also compares the mapping with the live database, which finds more.
            more = "1 more problem" if others == 1 else f"{others} more problems"
            listing = f"The file has {more}; `segmento shopdb check {path}` lists every problem, including those the live database shows"
            first.hint = f"{first.hint}. {listing}" if first.hint else listing
        raise first
    return result.mapping


def read_mapping(path: str | Path) -> MappingRead:
    """Read the mapping file at ``path``, going on past each problem to find the next one."""
    path = Path(path)
    try:
        root = _compose(path)
    except DataError as error:
        return MappingRead(None, [error])
    problems: list[DataError] = []
    try:
        document = _Section(root, path, "", yaml.SafeLoader(""), problems)
    except DataError as error:
        return MappingRead(None, [error])
    document.check_keys({"source", *ROLES})
    source = _collect(problems, lambda: document.section("source"), None)
    if source is None and "source" not in document.items:
        problems.append(
            DataError("missing section 'source' with the database url", location=document.location, code="shopdb_mapping")
        )
    url: str | None = None
    timezone = DEFAULT_TIMEZONE
    if source is not None:
        source.check_keys(SOURCE_KEYS)
        url = _url(source)
        timezone_name = str(source.value("timezone") or DEFAULT_TIMEZONE)
        timezone = _collect(problems, lambda: _check_timezone(timezone_name, source.key_location("timezone")), DEFAULT_TIMEZONE)

    tables: dict[Role, TableMap] = {}
    statuses = OrderStatuses()
    for role in ROLES:
        if role not in document.items:
            if role in REQUIRED_ROLES:
                problems.append(DataError(f"missing section {role!r}", location=document.location, code="shopdb_mapping"))
            continue
        try:
            section = document.section(role)
        except DataError as error:
            problems.append(error)
            continue
        if section is None:
            continue
        table = _table(role, section)
        if table is not None:
            tables[role] = table
        if role == "orders":
            try:
                statuses = _statuses(section)
            except DataError as error:
                problems.append(error)
    if source is None:
        return MappingRead(None, problems)
    mapping = ShopMapping(
        path=path,
        url=url or "",
        url_location=source.key_location("url"),
        timezone=timezone,
        batch_size=_collect(problems, lambda: _positive(source, "batch_size", DEFAULT_BATCH_SIZE, minimum=1), DEFAULT_BATCH_SIZE),
        settle_seconds=_collect(problems, lambda: _positive(source, "settle_seconds", 0, minimum=0), 0),
        tables=tables,
        statuses=statuses,
        reconcile=_collect(problems, lambda: _reconcile(source), ReconcilePolicy()),
    )
    return MappingRead(mapping, problems)


def _compose(path: Path) -> Node:
    """Return the YAML node tree of the file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(
            "shop database mapping file not found",
            location=Location(source=str(path)),
            hint="Check 'mapping' of the source in the workspace config; it is relative to the config file",
            code="shopdb_mapping",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read the mapping file: {error}", location=Location(source=str(path)), code="shopdb_mapping") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise DataError(
            f"the mapping file is not valid YAML: {getattr(error, 'problem', error)}",
            location=Location(source=str(path), line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None),
            hint="Check the indentation and the quoting on that line",
            code="shopdb_mapping",
        ) from None
    if root is None:
        raise DataError("the mapping file is empty", location=Location(source=str(path)), code="shopdb_mapping")
    return root


def _url(source: _Section) -> str | None:
    """Return the source URL as written; record a problem and return ``None`` when it is missing or has a password."""
    url = source.value("url")
    if not isinstance(url, str) or not url.strip():
        source.problems.append(
            DataError(
                "missing source url",
                location=source.location,
                hint="Add url: ${SHOP_DB_URL} and set that environment variable",
                code="shopdb_mapping",
            )
        )
        return None
    if literal_password(url):
        # The message must not repeat the URL, because it contains the password.
        source.problems.append(
            DataError(
                "the source url contains a password; write ${VARIABLE} in its place",
                location=source.key_location("url"),
                hint="For example mysql+pymysql://reader:${SHOP_DB_PASSWORD}@db/shop, or url: ${SHOP_DB_URL}",
                code="shopdb_password",
            )
        )
        return None
    return url.strip()


def _table(role: Role, section: _Section) -> TableMap | None:
    """Return the table map of ``section``, or ``None`` when its table or key is missing; record every problem."""
    problems = section.problems
    table_keys = TABLE_KEYS if role == "orders" else TABLE_KEYS - {"statuses"}
    section.check_keys(table_keys)
    table = _collect(problems, lambda: section.name("table", required=True), None)
    key = _collect(problems, lambda: section.name("key", required=True), None)
    watermark = _collect(problems, lambda: section.name("watermark", required=False), None)
    # A misspelled key such as 'watermak' is already a problem whose hint names 'watermark'.
    watermark_misspelled = section.misspelling_of("watermark", table_keys) is not None
    if watermark is None and "watermark" not in section.items and role in WATERMARKED - {"products"} and not watermark_misspelled:
        problems.append(_missing_watermark(role, section, table, key))
    if watermark is not None and role not in WATERMARKED:
        problems.append(
            DataError(
                f"the {role} table is read whole on every import and takes no watermark",
                location=section.key_location("watermark"),
                code="shopdb_mapping",
            )
        )
        watermark = None
    targets = TARGETS[role]
    columns: dict[str, ColumnMap] = {}
    column_section = _collect(problems, lambda: section.section("columns"), None)
    if column_section is not None:
        column_section.check_keys(targets)
        for target in column_section.items:
            if target not in targets:
                continue
            try:
                columns[target] = _column(targets[target], column_section)
            except DataError as error:
                problems.append(error)
    for spec in targets.values():
        written = column_section is not None and (
            spec.name in column_section.items or column_section.misspelling_of(spec.name, targets) is not None
        )
        if spec.required and spec.name not in columns and not written:
            problems.append(
                DataError(
                    f"the {role} mapping needs a column for {spec.name!r}",
                    location=column_section.location if column_section is not None else section.location,
                    hint=f"Add '{spec.name}: COLUMN' under columns",
                    code="shopdb_mapping",
                )
            )
    if table is None or key is None:
        return None
    return TableMap(
        role=role,
        table=table,
        key=key,
        location=section.key_location("table"),
        key_location=section.key_location("key"),
        columns=columns,
        watermark=watermark,
        watermark_location=section.key_location("watermark") if watermark is not None else None,
    )


def _missing_watermark(role: Role, section: _Section, table: str | None, key: str | None) -> DataError:
    """Return the problem of a copied table without a watermark, with the SQL that adds an update-time column."""
    name = table or "TABLE"
    return DataError(
        f"the {role} mapping needs a watermark: a column with each row's update time, "
        "so that an import copies only the rows that changed",
        location=section.location,
        hint=f"Add 'watermark: COLUMN'. If {name} has no such column, add one (MySQL or MariaDB): "
        f"ALTER TABLE {name} ADD COLUMN updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
        f"ON UPDATE CURRENT_TIMESTAMP(6), ADD INDEX ix_{name}_updated_at (updated_at, {key or 'KEY'}). "
        "A table whose rows are only inserted, with an increasing integer key, can use 'watermark: "
        f"{key or 'KEY'}' instead",
        value={"role": role, "table": table, "key": key},
        code="shopdb_watermark",
    )


def _column(spec: TargetSpec, section: _Section) -> ColumnMap:
    location = section.key_location(spec.name)
    node = section.node(spec.name)
    if isinstance(node, ScalarNode):
        column = section.name(spec.name, required=True) or ""
        return ColumnMap(spec.name, column, location)
    options = section.section(spec.name)
    if options is None or isinstance(node, SequenceNode):
        raise DataError("expected a column name or {column: ...}", location=location, code="shopdb_mapping")
    options.check_keys(COLUMN_KEYS)
    column = options.name("column", required=True) or ""
    codes = _codes(spec, options) if "codes" in options.items else None
    if ("default" in options.items) and codes is None:
        raise DataError("'default' applies only with 'codes'", location=options.key_location("default"), code="shopdb_mapping")
    default = options.value("default")
    if default is not None:
        default = _code_value(spec, default, options.key_location("default"))
    scale = options.value("scale")
    if scale is not None and (spec.kind != "money" or isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 6):
        raise DataError(
            "'scale' applies to money columns and is a whole number from 0 to 6",
            location=options.key_location("scale"),
            value=scale,
            hint="scale: 2 reads an integer column of cents as amounts with 2 decimal places",
            code="shopdb_mapping",
        )
    timezone = options.value("timezone")
    if timezone is not None:
        if spec.kind != "datetime":
            raise DataError("'timezone' applies to datetime columns", location=options.key_location("timezone"), code="shopdb_mapping")
        _check_timezone(str(timezone), options.key_location("timezone"))
    return ColumnMap(
        spec.name,
        column,
        location,
        codes=codes,
        default=default,
        has_default="default" in options.items,
        scale=scale,
        timezone=str(timezone) if timezone is not None else None,
    )


def _codes(spec: TargetSpec, options: _Section) -> dict[str, str | None]:
    location = options.key_location("codes")
    if spec.kind != "text":
        raise DataError(f"'codes' applies to text fields, not to {spec.name!r}", location=location, code="shopdb_mapping")
    raw = options.value("codes")
    if not isinstance(raw, dict) or not raw:
        raise DataError("'codes' must map the column's values to the field's values", location=location, value=raw, code="shopdb_mapping")
    codes: dict[str, str | None] = {}
    for code, value in raw.items():
        try:
            codes[str(code)] = _code_value(spec, value, location)
        except DataError as error:
            options.problems.append(error)
    return codes


def _code_value(spec: TargetSpec, value: Any, location: Location) -> str | None:
    if value is None:
        return None
    text = str(value)
    if spec.values is not None and text not in spec.values:
        suggestion = closest(text, spec.values)
        raise DataError(
            f"{text!r} is not a value of {spec.name}",
            location=location,
            value=text,
            hint=(f"Did you mean {suggestion!r}? " if suggestion else "") + "Values: " + ", ".join(spec.values) + ", or null",
            code="shopdb_mapping",
        )
    return text


def _statuses(section: _Section) -> OrderStatuses:
    statuses = section.section("statuses")
    if statuses is None:
        return OrderStatuses()
    statuses.check_keys(STATUS_KEYS)
    columns = section.section("columns")
    if columns is None or "status" not in columns.items:
        raise DataError(
            "'statuses' needs the status column under columns",
            location=statuses.location,
            hint="Add 'status: COLUMN' under the orders columns",
            code="shopdb_mapping",
        )
    values: dict[str, frozenset[str]] = {}
    for key in STATUS_KEYS:
        raw = statuses.value(key, [])
        if not isinstance(raw, list):
            raise DataError(f"{key!r} must be a list of status codes", location=statuses.key_location(key), value=raw, code="shopdb_mapping")
        values[key] = frozenset(str(item) for item in raw)
    both = values["skip"] & values["returns"]
    if both:
        raise DataError(
            f"status {sorted(both)[0]!r} is listed under both skip and returns",
            location=statuses.location,
            code="shopdb_mapping",
        )
    return OrderStatuses(values["skip"], values["returns"])


def _positive(section: _Section, key: str, default: int, *, minimum: int) -> int:
    value = section.value(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DataError(f"{key!r} must be a whole number of at least {minimum}", location=section.key_location(key), value=value, code="shopdb_mapping")
    return value


def _reconcile(section: _Section) -> ReconcilePolicy:
    """Read ``reconcile``: ``every_import`` (the default), ``never``, or an interval such as ``12h``."""
    value = section.value("reconcile", "every_import")
    text = str(value).strip() if isinstance(value, str) else None
    if text == "every_import":
        return ReconcilePolicy()
    if text == "never":
        return ReconcilePolicy(enabled=False)
    match = INTERVAL.fullmatch(text) if text is not None else None
    if match is None or int(match.group(1)) == 0:
        raise DataError(
            f"'reconcile' must be every_import, never or an interval, not {value!r}",
            location=section.key_location("reconcile"),
            value=value,
            hint="An interval is a whole number of minutes, hours or days: 30m, 12h, 7d",
            code="shopdb_mapping",
        )
    return ReconcilePolicy(interval=timedelta(**{INTERVAL_UNITS[match.group(2)]: int(match.group(1))}))


def _check_timezone(name: str, location: Location) -> str:
    """Return ``name`` when it is a known IANA time zone; raise ``DataError`` otherwise."""
    try:
        load_timezone(name)
    except SegmentoError as error:
        raise DataError(error.message, location=location, value=name, hint=error.hint, code="shopdb_mapping") from None
    return name


def _location(node: Node | None, path: Path, pointer: str) -> Location:
    if node is None:
        return Location(pointer=pointer or "", source=str(path))
    mark = node.start_mark
    return Location(pointer=pointer or "", line=mark.line + 1, column=mark.column + 1, source=str(path))
