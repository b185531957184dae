"""Parser for the UCI Online Retail CSV: one row per order line.

What each kind of row becomes (docs/data-import.md explains the choices):

- A product line of an invoice with a customer: an order line, and a ``purchase``
  event for that customer.
- A line of an invoice whose number starts with ``C``: a cancellation line (negative
  quantity) of a cancellation order. It lowers the customer's totals, but is no event.
- A guest line (no CustomerID): stored as an order line of a guest order, which
  belongs to no profile.
- A service code (postage, fees, discounts, manual entries, samples, bad debt):
  stored as an order line of its ``line_kind``; purchase aggregates skip it.
- Rejected with a reason: malformed fields, a negative unit price (a bad debt
  write-off), and a quantity of zero. Also rejected are a negative quantity on an
  invoice that is not a cancellation and a zero-price line without a customer,
  because both are stock adjustments such as "damaged" or "found", not sales.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import tzinfo
from typing import Final

from segmento.adapters.ingest.items import (
    Item,
    LocalTimes,
    Occurrences,
    line_value,
    Parsed,
    Rejected,
    RowError,
    money_micros,
    parse_decimal,
    parse_integer,
    reject,
)
from segmento.adapters.ingest.readers import CsvRecord, TextSource, read_csv
from segmento.adapters.ingest.retail_categories import category_for
from segmento.engine.text import normalize

FORMAT: Final = "online_retail"
COLUMNS: Final = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")

SERVICE_CODES: Final[dict[str, str]] = {
    "POST": "shipping",
    "DOT": "shipping",
    "C2": "shipping",
    "AMAZONFEE": "fee",
    "BANK CHARGES": "fee",
    "CRUK": "fee",
    "D": "discount",
    "M": "manual",
    "PADS": "manual",
    "S": "sample",
    "B": "adjustment",
}
"""Stock codes that are not products, by upper-case code, and the line kind they become."""

# The original UCI export writes dates as month/day/year.
DATE_FORMATS: Final = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M")
_CUSTOMER_ID: Final = re.compile(r"^(\d+)(?:\.0+)?$")
_SPACES: Final = re.compile(r"\s+")


def parse(text: TextSource, zone: tzinfo) -> Iterator[Item]:
    """Yield one item per row of an Online Retail file whose local times are in ``zone``."""
    times = LocalTimes(zone, DATE_FORMATS)
    occurrences = Occurrences()
    invoices: set[str] = set()
    for record in read_csv(text, COLUMNS, "UCI Online Retail CSV"):
        if record.problem:
            yield Rejected(record.line, record.raw, "malformed_row", f"the row {record.problem}")
            continue
        try:
            yield _parse_row(record, times, occurrences, invoices)
        except RowError as error:
            yield reject(record.line, record.raw, error)


def _parse_row(record: CsvRecord, times: LocalTimes, occurrences: Occurrences, invoices: set[str]) -> Item:
    fields = record.fields
    invoice = fields["InvoiceNo"].strip()
    code = fields["StockCode"].strip()
    if not invoice:
        raise RowError("missing_field", "InvoiceNo is empty")
    if not code:
        raise RowError("missing_field", "StockCode is empty")
    quantity = parse_integer(fields["Quantity"], "Quantity")
    price = parse_decimal(fields["UnitPrice"], "UnitPrice")
    time = times.parse(fields["InvoiceDate"], "InvoiceDate")
    customer_id = _customer_id(fields["CustomerID"])
    is_cancellation = invoice.upper().startswith("C")
    _check_sale(quantity, price, customer_id, is_cancellation)

    # The id hashes what identifies the line rather than its position, so an invoice
    # split over two exports cannot reuse ids; identical lines are numbered.
    line_id = occurrences.record_id(f"{invoice}/", invoice, code, str(quantity), str(price), time.isoformat(), customer_id or "")
    first_line_of_order = invoice not in invoices
    invoices.add(invoice)
    description = _SPACES.sub(" ", normalize(fields["Description"])).strip() or None
    line_kind = SERVICE_CODES.get(code.upper(), "product")
    category = category_for(description) if description and line_kind == "product" else None
    unit_price = money_micros(price, "UnitPrice")
    value = line_value(quantity, unit_price)
    country = fields["Country"].strip() or None

    # The first line of an invoice in the file carries the order; the loader skips
    # an order that an earlier import already stored.
    orders: tuple[dict[str, object], ...] = ()
    if first_line_of_order:
        orders = (
            {
                "id": invoice,
                "customer_id": customer_id,
                "time": time,
                "country": country,
                "is_cancellation": is_cancellation,
                "source_line": record.line,
            },
        )
    line = {
        "id": line_id,
        "order_id": invoice,
        "customer_id": customer_id,
        "time": time,
        "is_cancellation": is_cancellation,
        "line_kind": line_kind,
        "product_id": code,
        "description": description,
        "category": category,
        "quantity": quantity,
        "unit_price_micros": unit_price,
        "value_micros": value,
        "source_line": record.line,
    }
    events: tuple[dict[str, object], ...] = ()
    if customer_id is not None and line_kind == "product" and not is_cancellation:
        events = (
            {
                "id": f"line:{line_id}",
                "time": time,
                "customer_id": customer_id,
                "kind": "purchase",
                "product_id": code,
                "category": category,
                "price_micros": unit_price,
                "quantity": quantity,
                "value_micros": value,
                "order_id": invoice,
                "source_line": record.line,
                "anonymous_id": None,
                "session_id": None,
                "brand": None,
                "search_query": None,
                "raw": None,
            },
        )
    return Parsed(record.line, ("order_lines", line_id), orders=orders, order_lines=(line,), events=events)


def _customer_id(text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return None
    match = _CUSTOMER_ID.match(stripped)
    if match is None:
        raise RowError("malformed_customer", f"CustomerID {text!r} is not a whole number")
    return match.group(1)


def _check_sale(quantity: int, price: object, customer_id: str | None, is_cancellation: bool) -> None:
    if price < 0:  # type: ignore[operator]
        raise RowError("negative_price", f"UnitPrice {price} is negative: a bad debt write-off, not a sale")
    if quantity == 0:
        raise RowError("zero_quantity", "Quantity is 0, so the line sells nothing")
    if quantity < 0 and not is_cancellation:
        raise RowError(
            "stock_adjustment",
            f"Quantity {quantity} is negative on an invoice that is not a cancellation: a stock adjustment",
        )
    if quantity > 0 and is_cancellation:
        raise RowError("positive_cancellation", f"Quantity {quantity} is positive on a cancellation invoice")
    if price == 0 and customer_id is None:
        raise RowError("stock_adjustment", "UnitPrice is 0 and there is no customer: a stock adjustment, not a sale")
