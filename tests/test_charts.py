from decimal import Decimal

from rich.console import Console

from segmento.cli.charts import bar, bar_chart


def test_bar_full_at_maximum() -> None:
    assert bar(50, 50, width=10) == "█" * 10


def test_bar_half_and_eighths() -> None:
    assert bar(5, 10, width=10) == "█" * 5
    assert bar(1, 16, width=2) == "▏"


def test_bar_empty_for_zero_or_negative() -> None:
    assert bar(0, 10) == ""
    assert bar(-3, 10) == ""
    assert bar(3, 0) == ""


def test_bar_chart_scales_to_largest_row() -> None:
    table = bar_chart([("giày", Decimal("8.0")), ("túi xách", Decimal("2.0"))], title="interests", value_label="score", width=8)
    console = Console(width=80, record=True)
    console.print(table)
    lines = console.export_text().splitlines()
    shoes = next(line for line in lines if "giày" in line)
    bags = next(line for line in lines if "túi xách" in line)
    assert "█" * 8 in shoes
    assert "██" in bags
    assert "███" not in bags
