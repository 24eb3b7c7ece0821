"""Reading cells of CRM exports: dates in the common forms, amounts with thousands
separators and currency signs, header guesses for Salesforce and HubSpot reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from verity.analytics.imports import guess_mapping, resolve_mapping, sniff_dialect
from verity.analytics.imports_parse import (
    CellError,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_pairs,
)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-31",
        "2026-01-31 10:00",
        "1/31/2026",
        "01/31/2026",
        "1/31/26",
        "31.01.2026",
        "2026-01-31T10:00:00Z",
        " 2026-01-31 ",
    ],
)
def test_dates_in_the_common_export_forms(text: str) -> None:
    assert parse_date(text) == date(2026, 1, 31)


@pytest.mark.parametrize("text", ["31/01/2026", "2026-02-30", "yesterday", "2026-01-31 x", ""])
def test_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(CellError):
        parse_date(text)


def test_datetimes_keep_the_time_and_zone() -> None:
    assert parse_datetime("2026-01-31 10:05") == datetime(2026, 1, 31, 10, 5, tzinfo=UTC)
    assert parse_datetime("1/31/2026 2:05 PM") == datetime(2026, 1, 31, 14, 5, tzinfo=UTC)
    assert parse_datetime("2026-01-31T10:00:00+03:00") == datetime(2026, 1, 31, 7, 0, tzinfo=UTC)
    assert parse_datetime("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234.5", "1234.50"),
        ("1,234.50", "1234.50"),
        ("$1,234", "1234.00"),
        ("1 234,50", "1234.50"),
        ("1\u00a0234,50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("1,234,567", "1234567.00"),
        ("USD 900", "900.00"),
        ("900 руб.", "900.00"),  # noqa: RUF001 (a Russian currency word on purpose)
        ("12,5", "12.50"),
        ("0", "0.00"),
    ],
)
def test_amounts(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["-5", "(5)", "$-5", "12abc34", "1e5", "abc", "1,23,4", "1.2.3"])
def test_bad_or_negative_amounts_are_refused(text: str) -> None:
    with pytest.raises(CellError):
        parse_amount(text)


def test_negative_amount_says_so() -> None:
    with pytest.raises(CellError, match="negative"):
        parse_amount("-1,000")


def test_pairs() -> None:
    assert parse_pairs("Won=won, Lost = lost") == {"Won": "won", "Lost": "lost"}
    with pytest.raises(CellError):
        parse_pairs("Won")


def test_salesforce_and_hubspot_headers_are_recognised() -> None:
    salesforce = [
        "Opportunity ID",
        "Opportunity Owner",
        "Account Name",
        "Amount",
        "Stage",
        "Created Date",
        "Close Date",
        "Product",
    ]
    assert guess_mapping("opportunities", salesforce) == {
        "id": "Opportunity ID",
        "owner": "Opportunity Owner",
        "account": "Account Name",
        "product": "Product",
        "amount": "Amount",
        "stage": "Stage",
        "created_date": "Created Date",
        "close_date": "Close Date",
    }
    hubspot = ["Record ID", "Deal Owner", "Deal Stage", "Create Date", "Close Date", "Amount"]
    mapping = guess_mapping("opportunities", hubspot)
    assert mapping["id"] == "Record ID"
    assert mapping["stage"] == "Deal Stage"
    assert mapping["created_date"] == "Create Date"


def test_explicit_mapping_wins_and_missing_columns_are_reported() -> None:
    columns, problems = resolve_mapping(
        "opportunities", ["Deal", "Rep", "Stage", "Created"], {"id": "Deal", "owner": "Rep"}
    )
    assert problems == []
    assert columns == {"id": 0, "owner": 1, "stage": 2, "created_date": 3}
    _columns, problems = resolve_mapping("opportunities", ["Deal"], {"id": "Nope"})
    messages = " ".join(p.message for p in problems)
    assert "Nope" in messages and "owner" in messages and all(p.row == 1 for p in problems)


def test_delimiters() -> None:
    assert sniff_dialect("a;b;c\n1;2;3") == ";"
    assert sniff_dialect("a,b,c") == ","
    assert sniff_dialect("a\tb") == "\t"
