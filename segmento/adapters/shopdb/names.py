"""Names that shops give their tables, columns and code values, in English and Vietnamese.

``shopdb draft`` matches the shop's names against these lists. A name is split into
words: ``CustomerID``, ``customer_id`` and ``customer-id`` are all ``customer id``, and
Vietnamese diacritics are folded, so ``ngày_sinh`` and ``ngay_sinh`` are the same. A
term matches a name exactly, at its start or end (``quoc_gia_giao`` starts with
``quoc_gia``), or somewhere inside it, in that order of strength. Earlier terms in a
list are preferred when two columns match equally well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from segmento.engine.text import fold

EXACT: Final = 3
EDGE: Final = 2
INSIDE: Final = 1

_WORD_BREAK: Final = re.compile(r"[^0-9a-z]+")
_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

TABLE_TERMS: Final[dict[str, tuple[str, ...]]] = {
    "customers": (
        "customers", "customer", "khach_hang", "clients", "client", "members", "member", "users", "user",
        "accounts", "account", "nguoi_dung", "thanh_vien",
    ),
    "categories": (
        "categories", "category", "danh_muc", "product_categories", "product_category", "loai_san_pham",
        "nhom_san_pham", "nhom_hang", "collections",
    ),
    "products": ("products", "product", "san_pham", "items", "item", "goods", "hang_hoa", "articles", "mat_hang"),
    "orders": (
        "orders", "order", "don_hang", "sales_orders", "sales_order", "hoa_don", "invoices", "invoice",
        "purchases", "purchase",
    ),
    "order_lines": (
        "order_lines", "order_line", "order_items", "order_item", "order_details", "order_detail", "order_products",
        "order_product", "line_items", "line_item", "chi_tiet_don_hang", "don_hang_chi_tiet", "chi_tiet_hoa_don",
        "invoice_lines", "invoice_line", "invoice_items", "invoice_item",
    ),
}  # fmt: skip
"""Table names of each role."""

FIELD_TERMS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "customers": {
        "name": (
            "full_name", "fullname", "name", "customer_name", "display_name", "ho_ten", "ho_va_ten", "ten_khach_hang",
            "ten_day_du", "ten",
        ),
        "gender": ("gender", "sex", "gioi_tinh", "phai"),
        "birthday": ("birthday", "birth_date", "birthdate", "date_of_birth", "dob", "ngay_sinh", "sinh_nhat"),
        "city": ("city", "town", "thanh_pho", "tinh_thanh_pho", "tinh_thanh", "tinh_tp"),
        "country": ("country", "country_code", "country_name", "quoc_gia", "nuoc"),
        "signed_up_at": (
            "signed_up_at", "signup_date", "sign_up_date", "registered_at", "registration_date", "date_joined",
            "joined_at", "created_at", "created", "created_on", "date_created", "creation_date", "create_time",
            "ngay_dang_ky", "ngay_tao", "thoi_gian_tao", "thoi_gian_dang_ky",
        ),
    },
    "categories": {
        # A slug or code makes a better level of the dotted category path than a display name.
        "name": (
            "slug", "code", "category_code", "ma_danh_muc", "duong_dan", "name", "category_name", "title",
            "ten_danh_muc", "ten",
        ),
        "parent": ("parent_id", "parent_category_id", "parent", "danh_muc_cha_id", "danh_muc_cha", "cha_id", "ma_cha"),
    },
    "products": {
        "code": (
            "sku", "code", "product_code", "stock_code", "item_code", "article_number", "ma_sp", "ma_san_pham",
            "ma_hang", "ma",
        ),
        "name": ("name", "product_name", "title", "ten_sp", "ten_san_pham", "ten_hang", "ten", "description", "mo_ta"),
        "category": ("category_id", "category", "danh_muc_id", "ma_danh_muc", "danh_muc"),
        "line_kind": (
            "line_kind", "kind", "product_type", "item_type", "type", "loai", "loai_san_pham", "loai_hang",
            "kieu",
        ),
    },
    "orders": {
        "customer": (
            "customer_id", "customer", "client_id", "member_id", "user_id", "account_id", "khach_hang_id",
            "ma_khach_hang", "ma_kh", "khach_hang",
        ),
        "placed_at": (
            "placed_at", "ordered_at", "order_date", "order_time", "order_datetime", "date_ordered", "purchased_at",
            "purchase_date", "ngay_dat", "ngay_dat_hang", "thoi_gian_dat", "thoi_gian_dat_hang", "ngay_mua",
            "created_at", "created", "created_on", "date_created", "create_time", "ngay_tao", "thoi_gian_tao", "date",
        ),
        "country": (
            "shipping_country", "ship_country", "delivery_country", "country", "country_code", "quoc_gia_giao",
            "quoc_gia_giao_hang", "quoc_gia", "nuoc",
        ),
        "status": ("status", "order_status", "state", "trang_thai", "tinh_trang"),
    },
    "order_lines": {
        "order": ("order_id", "order", "invoice_id", "don_hang_id", "ma_don_hang", "hoa_don_id", "don_hang"),
        "product": ("product_id", "product", "item_id", "sku", "san_pham_id", "ma_san_pham", "ma_sp", "san_pham"),
        "quantity": ("quantity", "qty", "quantity_ordered", "count", "so_luong", "sl"),
        "unit_price": (
            "unit_price", "price", "price_each", "item_price", "unit_price_cents", "price_cents", "don_gia", "gia",
            "gia_ban", "gia_don_vi",
        ),
    },
}  # fmt: skip
"""Column names of each field, by role."""

UPDATE_TIME_TERMS: Final = (
    "updated_at", "updated", "updated_on", "update_time", "updated_time", "last_updated", "last_update",
    "modified_at", "modified", "modified_on", "last_modified", "last_modified_at", "date_modified", "date_updated",
    "changed_at", "ngay_cap_nhat", "thoi_gian_cap_nhat", "cap_nhat_luc", "ngay_sua", "thoi_gian_sua",
)  # fmt: skip
"""Column names of a row's update time."""

MINOR_UNIT_TERMS: Final = ("cents", "cent", "xu", "minor")
"""Words in the name of an integer price column that counts minor units (cents)."""

GENDER_WORDS: Final[dict[str, str | None]] = {
    "m": "male", "male": "male", "man": "male", "men": "male", "nam": "male", "trai": "male",
    "f": "female", "female": "female", "woman": "female", "women": "female", "nu": "female", "gai": "female",
    "o": "other", "other": "other", "khac": "other", "x": "other", "diverse": "other", "non binary": "other",
    "unknown": None, "u": None, "none": None, "na": None, "n a": None, "khong ro": None, "chua ro": None,
    "khong xac dinh": None, "chua xac dinh": None, "not set": None, "unspecified": None,
}  # fmt: skip
"""Gender code words, after folding, and the gender each means (``None``: unknown)."""

LINE_KIND_WORDS: Final[tuple[tuple[str, str], ...]] = (
    ("shipping", "shipping"), ("ship", "shipping"), ("delivery", "shipping"), ("postage", "shipping"),
    ("freight", "shipping"), ("van chuyen", "shipping"), ("giao hang", "shipping"),
    ("discount", "discount"), ("coupon", "discount"), ("voucher", "discount"), ("promotion", "discount"),
    ("giam gia", "discount"), ("khuyen mai", "discount"), ("chiet khau", "discount"),
    ("sample", "sample"), ("samples", "sample"), ("hang mau", "sample"), ("mau", "sample"),
    ("adjustment", "adjustment"), ("adjust", "adjustment"), ("correction", "adjustment"), ("dieu chinh", "adjustment"),
    ("manual", "manual"), ("thu cong", "manual"), ("custom", "manual"),
    ("fee", "fee"), ("fees", "fee"), ("charge", "fee"), ("charges", "fee"), ("surcharge", "fee"),
    ("service", "fee"), ("phi", "fee"), ("dich vu", "fee"),
    ("product", "product"), ("products", "product"), ("goods", "product"), ("item", "product"),
    ("merchandise", "product"), ("physical", "product"), ("simple", "product"), ("hang hoa", "product"),
    ("san pham", "product"),
)  # fmt: skip
"""Words of product kinds and the line kind each means. Earlier words win, so ``phi van chuyen`` is shipping."""

SKIP_STATUS_WORDS: Final = (
    "pending", "unpaid", "awaiting payment", "pending payment", "payment pending", "cancelled", "canceled",
    "cancel", "failed", "void", "voided", "draft", "abandoned", "expired", "declined", "rejected",
    "cho thanh toan", "chua thanh toan", "huy", "that bai", "tu choi", "het han",
)  # fmt: skip
"""Status words of orders that are not sales: not paid, cancelled, failed."""

RETURN_STATUS_WORDS: Final = (
    "returned", "return", "refunded", "refund", "credit note", "credit", "tra hang", "hoan tien", "hoan tra",
)  # fmt: skip
"""Status words of orders that are returns (credit notes)."""

UNSURE_STATUS_WORDS: Final = ("partial", "partially", "mot phan")
"""Words that make a status neither a whole sale nor a whole return, such as ``partially_refunded``."""


@dataclass(frozen=True, slots=True)
class NameMatch:
    """The match of a name against a list of terms: its ``strength`` (``EXACT``, ``EDGE``, ``INSIDE``) and the term.

    ``prefix`` is the leading part of the name left out before matching, such as the
    table's own name.
    """

    strength: int
    term: str
    rank: int
    prefix: str | None = None

    @property
    def score(self) -> int:
        """A number that orders matches: stronger first, then earlier terms."""
        return self.strength * 100 - self.rank

    def describe(self) -> str:
        how = {EXACT: "is", EDGE: "starts or ends with", INSIDE: "contains"}[self.strength]
        after = f" after {self.prefix!r}" if self.prefix else ""
        return f"{how} {self.term!r}{after}"


def words(name: str) -> tuple[str, ...]:
    """Return the words of a name: ``CustomerID`` and ``customer_id`` are both ``("customer", "id")``."""
    spaced = _CAMEL.sub(" ", name)
    return tuple(word for word in _WORD_BREAK.split(fold(spaced)) if word)


def match_name(name: str, terms: Sequence[str], *, strip: Iterable[str] = ()) -> NameMatch | None:
    """Return the best match of ``name`` against ``terms``, or ``None``.

    ``strip`` lists leading words that may be ignored, such as the table's own name in
    ``customer_name`` of table ``customer``. A match without them counts when it is
    stronger.
    """
    name_words = words(name)
    best = _best_match(name_words, terms, None)
    for prefix in strip:
        prefix_words = words(prefix)
        if len(name_words) > len(prefix_words) and name_words[: len(prefix_words)] == prefix_words:
            stripped = _best_match(name_words[len(prefix_words) :], terms, "_".join(prefix_words))
            if stripped is not None and (best is None or stripped.strength > best.strength):
                best = stripped
            break
    return best


def _best_match(name_words: tuple[str, ...], terms: Sequence[str], prefix: str | None) -> NameMatch | None:
    best: NameMatch | None = None
    for rank, term in enumerate(terms):
        strength = _strength(name_words, words(term))
        if strength and (best is None or strength * 100 - rank > best.score):
            best = NameMatch(strength, term, rank, prefix)
    return best


def _strength(name_words: tuple[str, ...], term_words: tuple[str, ...]) -> int:
    size = len(term_words)
    if not size or size > len(name_words):
        return 0
    if name_words == term_words:
        return EXACT
    if name_words[:size] == term_words or name_words[-size:] == term_words:
        return EDGE
    if any(name_words[start : start + size] == term_words for start in range(len(name_words) - size + 1)):
        return INSIDE
    return 0


def contains_words(text: str, phrase: str) -> bool:
    """Return whether the words of ``phrase`` occur together, in order, among the words of ``text``."""
    return _strength(words(text), words(phrase)) > 0


def gender_codes(comment: str | None, values: Iterable[object] | None) -> dict[str, str | None]:
    """Return the gender of each code, read from a column comment (``0 unknown, 1 male``) or from the codes themselves.

    Only codes whose meaning is recognised are returned.
    """
    codes: dict[str, str | None] = {}
    if comment:
        for part in re.split(r"[,;|\n]", comment):
            found = re.match(r"\s*['\"]?([\w.-]+)['\"]?\s*(?:=>|->|→|=|:|-)?\s*(.+?)\s*$", part)
            if found is None:
                continue
            meaning = " ".join(words(found.group(2)))
            if meaning in GENDER_WORDS:
                codes[found.group(1)] = GENDER_WORDS[meaning]
    if values is not None:
        for value in values:
            meaning = " ".join(words(str(value)))
            if str(value) not in codes and meaning in GENDER_WORDS:
                codes[str(value)] = GENDER_WORDS[meaning]
    return codes


def line_kind_of(value: str) -> str | None:
    """Return the line kind a product kind code means (``van_chuyen`` is shipping), or ``None``."""
    text = " ".join(words(value))
    for phrase, kind in LINE_KIND_WORDS:
        if text == phrase:
            return kind
    for phrase, kind in LINE_KIND_WORDS:
        if contains_words(text, phrase):
            return kind
    return None


def status_meaning(value: str) -> str | None:
    """Return ``skip`` or ``returns`` for a status code that means so, ``sale`` for others, ``None`` when unsure."""
    if any(contains_words(value, phrase) for phrase in UNSURE_STATUS_WORDS):
        return None
    if any(contains_words(value, phrase) for phrase in RETURN_STATUS_WORDS):
        return "returns"
    if any(contains_words(value, phrase) for phrase in SKIP_STATUS_WORDS):
        return "skip"
    return "sale"


def singular_forms(name: str) -> set[str]:
    """Return the folded forms of a table name that a column referring to it may use (``orders``: ``order``)."""
    base = "_".join(words(name))
    forms = {base}
    for suffix, replacement in (("ies", "y"), ("es", ""), ("s", "")):
        if base.endswith(suffix) and len(base) > len(suffix) + 1:
            forms.add(base[: -len(suffix)] + replacement)
    return forms
