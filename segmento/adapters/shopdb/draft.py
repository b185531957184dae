"""Guess a first mapping file from the shop database's schema (``segmento shopdb draft``).

The guesses come from the schema, as the SQLAlchemy inspector reflects it, and from
names (``names``):

- tables by foreign keys (order lines refer to orders and products, orders to
  customers, products to categories) and by name (``don_hang``, ``orders``). Where the
  shop declares no foreign keys, a column such as ``customer_id`` or ``khach_hang_id``
  counts as a reference to the table of that name;
- columns by name and type (``ngay_sinh`` is a birthday if it is a date), reference
  columns by foreign key;
- the watermark: an update-time column, preferring one that an index starts with;
- codes from ``ENUM`` values, column comments and the distinct values of code columns.
  Those values come from an index or a sample of rows (``table_stats``), unless
  ``exact`` is true, which reads every row.

Each guess keeps how confident it is and what else was considered, and
``draft_yaml`` writes them as comments next to the values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import sqlalchemy as sa

from segmento.adapters.shopdb.mapping import REQUIRED_ROLES, ROLES, WATERMARKED, Role
from segmento.adapters.shopdb.names import (
    EDGE,
    EXACT,
    FIELD_TERMS,
    TABLE_TERMS,
    UPDATE_TIME_TERMS,
    NameMatch,
    match_name,
    singular_forms,
    words,
)
from segmento.adapters.shopdb.schema_info import TableInfo

Confidence = Literal["high", "medium", "low"]

MAX_OTHERS: Final = 3
"""Alternatives named in a guess's comment."""

PARENT_WORDS: Final = frozenset({"parent", "parent_category", "cha"})
"""Names (before ``_id``) of a column that refers to a parent row of its own table."""

REFERENCE_FIELDS: Final[dict[tuple[Role, str], Role]] = {
    ("orders", "customer"): "customers",
    ("order_lines", "order"): "orders",
    ("order_lines", "product"): "products",
    ("products", "category"): "categories",
    ("categories", "parent"): "categories",
}
"""Fields that hold the key of another table's row, and that table's role."""

_REFERRED_BY: Final[tuple[tuple[Role, Role], ...]] = (
    ("orders", "order_lines"),
    ("products", "order_lines"),
    ("customers", "orders"),
    ("categories", "products"),
)
"""Each table role found through a table that refers to it, and that table's role, parents first."""


@dataclass(frozen=True, slots=True)
class Guess:
    """A guessed name, how sure the draft is, why, and the other names it considered."""

    value: str
    confidence: Confidence
    reason: str
    others: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reference:
    """A column of ``table`` that refers to table ``target``, by a declared foreign key or by its name."""

    table: str
    column: str
    target: str
    declared: bool

    def describe(self) -> str:
        how = "foreign key" if self.declared else "by its name"
        return f"{self.table}.{self.column} refers to it ({how})"


@dataclass(frozen=True)
class FieldDraft:
    """One field of a table: its column guess, or ``None`` with a ``todo`` saying what is missing.

    ``codes`` maps the column's values to the field's; ``unknown_codes`` are values
    whose meaning was not recognised. ``default_null`` writes ``default: null``.
    """

    target: str
    guess: Guess | None
    todo: str | None = None
    codes: dict[str, str | None] | None = None
    unknown_codes: tuple[str, ...] = ()
    default_null: bool = False
    scale: int | None = None
    note: str | None = None
    sample_note: str | None = None
    """Why the codes may be incomplete: they were read from a sample of rows."""


@dataclass(frozen=True)
class StatusDraft:
    """Order status codes sorted by meaning: not sales (``skip``), returns, sales, and unsure."""

    skip: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()
    sales: tuple[str, ...] = ()
    unsure: tuple[str, ...] = ()
    known: bool = True
    """Whether the codes could be read (from an ``ENUM`` or the column's distinct values)."""
    sample: str | None = None
    """The rows the codes were read from, such as ``the last 10,000 rows by id``, when not all were read."""


@dataclass(frozen=True)
class TableDraft:
    """The draft of one table section."""

    role: Role
    table: Guess
    key: Guess | None
    key_todo: str | None = None
    watermark: Guess | None = None
    watermark_todo: str | None = None
    fields: list[FieldDraft] = field(default_factory=list)
    statuses: StatusDraft | None = None


@dataclass(frozen=True)
class Draft:
    """A whole draft mapping: its tables, the roles not found, and notes for the user."""

    url_variable: str
    url_display: str | None
    timezone: str
    tables: dict[Role, TableDraft]
    missing: dict[Role, str]
    notes: list[str] = field(default_factory=list)

    def todo_count(self) -> int:
        """Return how many values the user must fill in: missing fields, keys, watermarks and tables."""
        count = sum(1 for role in self.missing if role in REQUIRED_ROLES)
        for table in self.tables.values():
            count += sum(1 for item in table.fields if item.todo is not None and item.guess is None)
            count += table.key is None
            count += table.watermark is None and table.watermark_todo is not None
        return count


def draft_mapping(
    connection: sa.Connection,
    schema: Mapping[str, TableInfo],
    *,
    url_variable: str = "SHOP_DB_URL",
    url_display: str | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
    exact: bool = False,
) -> Draft:
    """Return a draft mapping of the shop database whose tables ``schema`` describes.

    ``connection`` reads the distinct values of code columns (gender, product kind,
    order status) that are not ``ENUM`` columns: through an index or from a sample of
    rows, or from every row with ``exact``. The URL is written as ``${url_variable}``.
    """
    # draft_columns builds on this module's types, so it is imported here, not at the top.
    from segmento.adapters.shopdb.draft_columns import draft_fields

    roles, missing = pick_tables(schema)
    tables: dict[Role, TableDraft] = {}
    notes: list[str] = []
    for role in ROLES:
        guess = roles.get(role)
        if guess is None:
            continue
        info = schema[guess.value]
        key, key_todo = pick_key(info)
        watermark: Guess | None = None
        watermark_todo: str | None = None
        if role in WATERMARKED:
            watermark, watermark_todo = pick_watermark(info, key.value if key is not None else None)
            if watermark_todo is not None and role != "products":
                notes.append(f"{role}: {watermark_todo}")
            elif watermark is not None and key is not None and watermark.value == key.value:
                notes.append(
                    f"{role}: table {info.name} has no update-time column, so its key {key.value} is the watermark: "
                    "imports copy new rows, and changes to rows copied before are missed"
                )
        fields, statuses = draft_fields(connection, role, info, roles, schema, watermark, exact=exact)
        notes += [f"{role}: {item.sample_note}" for item in fields if item.sample_note is not None]
        if statuses is not None and statuses.sample is not None:
            notes.append(f"{role}: the status codes were read from {statuses.sample}; check them, or draft with --exact")
        tables[role] = TableDraft(role, guess, key, key_todo, watermark, watermark_todo, fields, statuses)
    for role, why in missing.items():
        if role in REQUIRED_ROLES:
            notes.append(f"{role}: {why}")
    return Draft(url_variable, url_display, timezone, tables, missing, notes)


# --- tables ---------------------------------------------------------------------------------


def references(schema: Mapping[str, TableInfo]) -> list[Reference]:
    """Return every reference between tables: declared foreign keys, and columns named after a table.

    A column such as ``customer_id``, ``id_customer`` or ``khach_hang_id`` refers to the
    table whose name, or singular form, is the rest of its name.
    """
    found: list[Reference] = []
    for table in schema.values():
        declared = set()
        for key in table.foreign_keys:
            if len(key.columns) == 1 and key.referred_table in schema:
                found.append(Reference(table.name, key.columns[0], key.referred_table, True))
                declared.add(key.columns[0])
        for column in table.columns:
            if column in declared or column in table.primary_key:
                continue
            target = _named_target(column, table.name, schema)
            if target is not None:
                found.append(Reference(table.name, column, target, False))
    return found


def _named_target(column: str, own_table: str, schema: Mapping[str, TableInfo]) -> str | None:
    parts = words(column)
    if len(parts) < 2 or "id" not in (parts[0], parts[-1]):
        return None
    rest = "_".join(parts[1:] if parts[0] == "id" else parts[:-1])
    if rest in PARENT_WORDS or rest.endswith("_cha"):
        return own_table
    for name in schema:
        forms = singular_forms(name)
        if name != own_table and (rest in forms or any(form.endswith("_" + rest) for form in forms)):
            return name
    return None


def pick_tables(schema: Mapping[str, TableInfo]) -> tuple[dict[Role, Guess], dict[Role, str]]:
    """Return the table guessed for each role, and for each role not found, why."""
    links = references(schema)
    picker = _TablePicker(schema, links)
    chosen: dict[Role, Guess] = {}
    missing: dict[Role, str] = {}
    lines = picker.lines()
    if lines is not None:
        chosen["order_lines"] = lines
    used = {guess.value for guess in chosen.values()}
    # Each table is looked for among those its parent refers to, parents first.
    for role, parent in _REFERRED_BY:
        parent_guess = chosen.get(parent)
        guess = picker.referred(role, parent_guess.value if parent_guess else None, used)
        if guess is not None:
            chosen[role] = guess
            used.add(guess.value)
    for role in ROLES:
        if role not in chosen:
            examples = ", ".join(TABLE_TERMS[role][:4])
            missing[role] = f"no table looks like the {role} table (names such as {examples})"
    return chosen, missing


class _TablePicker:
    """Scores tables for roles by name and by the references between them."""

    def __init__(self, schema: Mapping[str, TableInfo], links: Sequence[Reference]) -> None:
        self.schema = schema
        self.links = links

    def name(self, table: str, role: Role) -> NameMatch | None:
        return match_name(table, TABLE_TERMS[role])

    def points(self, table: str, role: Role) -> int:
        match = self.name(table, role)
        return match.strength * 10 if match is not None else 0

    def outgoing(self, table: str) -> list[Reference]:
        return [link for link in self.links if link.table == table and link.target != table]

    def lines(self) -> Guess | None:
        """Return the order lines table: it refers to an orders table and has a quantity and a price."""
        scores: dict[str, int] = {}
        for name, info in self.schema.items():
            score = self.points(name, "order_lines")
            targets = {link.target for link in self.outgoing(name)}
            if any(self.points(target, "orders") >= EDGE * 10 for target in targets):
                score += 15
            if len(targets) >= 2:
                score += 5
            for target, bonus in (("quantity", 10), ("unit_price", 10)):
                if any(match_name(column, FIELD_TERMS["order_lines"][target]) for column in info.columns):
                    score += bonus
            if score >= 20 and self.points(name, "orders") < EXACT * 10:
                scores[name] = score
        return self._best("order_lines", scores, referred_by=None)

    def referred(self, role: Role, referrer: str | None, used: set[str]) -> Guess | None:
        """Return the table of ``role`` among those ``referrer`` refers to, else the best by name alone."""
        scores: dict[str, int] = {}
        if referrer is not None:
            for link in self.outgoing(referrer):
                if link.target in used:
                    continue
                score = self.points(link.target, role) + 10 + (5 if link.declared else 0)
                if role == "orders" and self.outgoing(link.target):
                    score += 5
                if role == "products":
                    score -= self.points(link.target, "orders")
                scores[link.target] = max(scores.get(link.target, 0), score)
            if role == "categories":
                scores.update(
                    {name: score + 5 for name, score in scores.items() if any(link.target == name for link in self._self_links(name))}
                )
            # A referred table must look like the role by name unless nothing else does.
            named = {name: score for name, score in scores.items() if self.points(name, role) > 0}
            if named:
                scores = named
            elif len(scores) > 1:
                scores = {}
        if not scores:
            scores = {name: self.points(name, role) for name in self.schema if name not in used and self.points(name, role) >= EDGE * 10}
        return self._best(role, scores, referred_by=referrer)

    def _self_links(self, table: str) -> list[Reference]:
        return [link for link in self.links if link.table == table and link.target == table]

    def _best(self, role: Role, scores: Mapping[str, int], referred_by: str | None) -> Guess | None:
        if not scores:
            return None
        ranked = sorted(scores, key=lambda name: (-scores[name], name))
        best = ranked[0]
        match = self.name(best, role)
        reasons = [f"name {match.describe()}"] if match is not None else [f"name does not look like {role}"]
        link = next((link for link in self.links if link.table == referred_by and link.target == best), None)
        if link is not None:
            reasons.append(link.describe())
        elif role == "order_lines":
            targets = sorted({link.target for link in self.outgoing(best)})
            if targets:
                reasons.append("refers to " + ", ".join(targets))
        # Two of: a declared foreign key (or a name that is exactly the role's), a
        # reference by column name, a name that starts or ends with the role's.
        evidence = 0
        if link is not None:
            evidence += 2 if link.declared else 1
        elif role == "order_lines":
            to_orders = [item for item in self.outgoing(best) if self.points(item.target, "orders") >= EDGE * 10]
            if any(item.declared for item in to_orders):
                evidence += 2
            elif to_orders:
                evidence += 1
        if match is not None and match.strength >= EDGE:
            evidence += 2 if match.strength == EXACT else 1
        confidence: Confidence = "low"
        if evidence >= 3:
            confidence = "high"
        elif evidence == 2:
            confidence = "medium"
        return Guess(best, confidence, "; ".join(reasons), tuple(ranked[1 : 1 + MAX_OTHERS]))


# --- keys and watermarks --------------------------------------------------------------------


def pick_key(table: TableInfo) -> tuple[Guess | None, str | None]:
    """Return the key column (the primary key, else a unique column), or ``None`` and why."""
    if len(table.primary_key) == 1:
        return Guess(table.primary_key[0], "high", "primary key"), None
    unique = [index for index in table.indexes if index.unique and len(index.columns) == 1]
    not_null = [index for index in unique if not table.columns[index.columns[0]].nullable]
    if not_null:
        return Guess(not_null[0].columns[0], "medium", f"unique index {not_null[0].name}, not the primary key"), None
    if table.primary_key:
        return None, (
            f"the primary key of {table.name} has {len(table.primary_key)} columns "
            f"({', '.join(table.primary_key)}); the key must be one column that identifies a row: add an "
            "AUTO_INCREMENT id column, or map a view with one"
        )
    return None, f"{table.name} has no primary key and no unique column; add a primary key"


def pick_watermark(table: TableInfo, key: str | None) -> tuple[Guess | None, str | None]:
    """Return the watermark: the best update-time column, preferring one that an index starts with.

    Without one, an integer key is the watermark of an insert-only table, which copies
    new rows only. Returns ``None`` and why when neither exists.
    """
    candidates: list[tuple[tuple[bool, int, bool, bool], str, list[str]]] = []
    for column in table.columns.values():
        if not column.is_kind(sa.DateTime) or column.name == key:
            continue
        match = match_name(column.name, UPDATE_TIME_TERMS)
        if match is None and not column.updates_itself:
            continue
        index = table.index_starting_with(column.name)
        reasons = [f"name {match.describe()}"] if match is not None else []
        if column.updates_itself:
            reasons.append("the database sets it on every update")
        reasons.append(f"index {index} starts with it" if index else "no index starts with it")
        reasons.append("NULL allowed" if column.nullable else "NOT NULL")
        rank = (index is not None, match.score if match is not None else 0, column.updates_itself, not column.nullable)
        candidates.append((rank, column.name, reasons))
    if candidates:
        candidates.sort(key=lambda item: item[0], reverse=True)
        (indexed, name_score, updates, not_null), name, reasons = candidates[0]
        if indexed and not_null and (name_score > EDGE * 100 - 100 or updates):
            confidence: Confidence = "high"
        elif indexed or updates:
            confidence = "medium"
        else:
            confidence = "low"
        if not indexed:
            reasons.append(
                f"add an index, or each incremental copy reads the whole table: CREATE INDEX ix_{table.name}_{name} "
                f"ON {table.name} ({name}{', ' + key if key else ''})"
            )
        others = tuple(item[1] for item in candidates[1 : 1 + MAX_OTHERS])
        return Guess(name, confidence, "update time: " + ", ".join(reasons), others), None
    key_column = table.columns.get(key) if key is not None else None
    if key_column is not None and key_column.is_kind(sa.Integer):
        increasing = "AUTO_INCREMENT" if key_column.autoincrement else "an integer; check that new rows get larger ids"
        return (
            Guess(
                key_column.name,
                "low",
                f"no update-time column, so the key ({increasing}) is the watermark: imports copy new rows, "
                "but changes to rows copied before are missed",
            ),
            None,
        )
    return None, (
        f"table {table.name} has no update-time column and no integer key, so there is no usable watermark; add "
        f"one: ALTER TABLE {table.name} ADD COLUMN updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
        f"ON UPDATE CURRENT_TIMESTAMP(6), ADD INDEX ix_{table.name}_updated_at (updated_at{', ' + key if key else ''})"
    )
