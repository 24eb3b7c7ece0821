"""Reading one cell of a CRM or HR export: dates, amounts, stage outcomes and column headers.

Everything here is a plain function of strings, so the import loop (imports.py) can call it a
million times: parsed dates are cached (exports repeat the same few thousand dates), the
common case of an amount is one `Decimal(...)` call, and header matching is done once per file.
A cell that cannot be read raises `CellError` with a message for the person who exported it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from verity.analytics.models import Outcome


class CellError(ValueError):
    """A cell that cannot be read; the message says what was expected."""


# ---------------------------------------------------------------- dates

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")  # Salesforce's default (en_US)
_DOT_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")  # Russian and German locales
_TIME = re.compile(
    r"(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?\s*(Z|[+-]\d{2}:?\d{2})?"
)

_CACHE_LIMIT = 200_000
_date_cache: dict[str, date] = {}
_datetime_cache: dict[str, datetime] = {}


def _year(text: str) -> int:
    year = int(text)
    return 2000 + year if len(text) == 2 else year


def _split_date(value: str) -> tuple[date, str]:
    """The date at the start of `value` and what follows it."""
    for pattern, order in ((_ISO_DATE, "ymd"), (_US_DATE, "mdy"), (_DOT_DATE, "dmy")):
        match = pattern.match(value)
        if match is None:
            continue
        a, b, c = match.groups()
        if order == "ymd":
            year, month, day = int(a), int(b), int(c)
        elif order == "mdy":
            month, day, year = int(a), int(b), _year(c)
        else:
            day, month, year = int(a), int(b), _year(c)
        try:
            return date(year, month, day), value[match.end() :]
        except ValueError:
            break
    raise CellError(
        _("“%(value)s” is not a date (use 2026-01-31, 1/31/2026 or 31.01.2026)") % {"value": value}
    )


def parse_date(value: str) -> date:
    """ISO (2026-01-31, optionally with a time, which is dropped), US (1/31/2026, as
    Salesforce exports in English) or dotted day-first (31.01.2026, Russian exports)."""
    cached = _date_cache.get(value)
    if cached is not None:
        return cached
    text = value.strip()
    parsed, rest = _split_date(text)
    rest_match = _TIME.fullmatch(rest)
    if rest_match is None:
        raise CellError(
            _("“%(value)s” is not a date (use 2026-01-31, 1/31/2026 or 31.01.2026)")
            % {"value": value}
        )
    if len(_date_cache) >= _CACHE_LIMIT:
        _date_cache.clear()
    _date_cache[value] = parsed
    return parsed


def parse_datetime(value: str) -> datetime:
    """A date as `parse_date` reads it, with an optional time ("2026-01-31 10:00",
    "1/31/2026 2:05 PM", ISO with Z or an offset). Without a zone the site's time zone
    applies; a bare date means its midnight."""
    cached = _datetime_cache.get(value)
    if cached is not None:
        return cached
    text = value.strip()
    day, rest = _split_date(text)
    match = _TIME.fullmatch(rest)
    if match is None:
        raise CellError(
            _("“%(value)s” is not a date and time (use 2026-01-31 10:00)") % {"value": value}
        )
    hour_s, minute_s, second_s, half, zone = match.groups()
    hour, minute, second = int(hour_s or 0), int(minute_s or 0), int(second_s or 0)
    if half:
        if not 1 <= hour <= 12:
            raise CellError(_("“%(value)s” has an impossible time") % {"value": value})
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    try:
        moment = datetime.combine(day, time(hour, minute, second))
    except ValueError:
        raise CellError(_("“%(value)s” has an impossible time") % {"value": value}) from None
    if zone:
        if zone == "Z":
            tz = UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
            tz = dt_timezone(timedelta(minutes=offset))
        moment = moment.replace(tzinfo=tz)
    else:
        moment = timezone.make_aware(moment)
    if len(_datetime_cache) >= _CACHE_LIMIT:
        _datetime_cache.clear()
    _datetime_cache[value] = moment
    return moment


def month_start(day: date) -> date:
    return day.replace(day=1)


# ---------------------------------------------------------------- amounts

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")  # thousands separators: spaces, apostrophes
_PLAIN = re.compile(r"\d+(\.\d+)?")
MAX_AMOUNT = Decimal("99999999999999.99")  # what the column (16 digits, 2 decimals) holds
CENT = Decimal("0.01")


def parse_amount(value: str) -> Decimal:
    """A non-negative money amount: "1234.5", "1,234.50", "$1,234", "1 234,50", "1.234,50",
    "USD 900". One comma followed by exactly three digits is a thousands separator
    ("1,234" = 1234), as US exports write it; any other single comma is a decimal comma."""
    text = value.strip()
    amount = Decimal(text) if _PLAIN.fullmatch(text) else _parse_amount_slow(value, text)
    if amount > MAX_AMOUNT:
        raise CellError(_("“%(value)s” is too large for an amount") % {"value": value})
    return amount.quantize(CENT)


_UNIT = r"(?:[^\W\d_]|[$€£¥₽₹¤])"  # a letter or a currency sign: "$", "USD", "RUB"
_DECORATED = re.compile(
    rf"(?P<open>\()?(?P<sign1>[+-]?){_UNIT}*\.?(?P<sign2>[+-]?)(?P<num>\d[\d.,]*)"
    rf"(?:{_UNIT}+\.?)?(?P<close>\))?"
)


def _parse_amount_slow(value: str, text: str) -> Decimal:
    not_amount = CellError(
        _("“%(value)s” is not an amount (use 1234.50 or 1,234.50)") % {"value": value}
    )
    match = _DECORATED.fullmatch(_SPACES.sub("", text))
    if match is None or bool(match["open"]) != bool(match["close"]):
        raise not_amount
    negative = bool(match["open"]) or "-" in (match["sign1"], match["sign2"])
    core = match["num"].rstrip(".,") if match["num"][-1:] in ".," else match["num"]
    commas, dots = core.count(","), core.count(".")
    if commas and dots:
        # The separator that comes last is the decimal one: 1,234.50 or 1.234,50.
        decimal_mark = "." if core.rfind(".") > core.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        if core.count(decimal_mark) > 1:
            raise not_amount
        core = core.replace(thousands, "").replace(decimal_mark, ".")
    elif commas:
        whole, _sep, tail = core.rpartition(",")
        if commas > 1 or len(tail) == 3:
            if not all(len(part) == 3 for part in core.split(",")[1:]):
                raise not_amount
            core = core.replace(",", "")
        else:
            core = f"{whole}.{tail}"
    elif dots > 1:
        if not all(len(part) == 3 for part in core.split(".")[1:]):
            raise not_amount
        core = core.replace(".", "")
    try:
        amount = Decimal(core)
    except InvalidOperation:
        raise not_amount from None
    if negative and amount:
        raise CellError(_("“%(value)s” is negative; amounts must be 0 or more") % {"value": value})
    return amount


# ---------------------------------------------------------------- stages

# Stage names are compared case-folded with spaces collapsed.
DEFAULT_OUTCOMES: dict[str, str] = {
    "closed won": Outcome.WON,
    "closed lost": Outcome.LOST,
    "closedwon": Outcome.WON,
    "closedlost": Outcome.LOST,
}
# The open stages Salesforce and HubSpot ship with; any other stage must be mapped, so a
# typo or a custom "Closed - Won" is never silently counted as an open deal.
DEFAULT_OPEN_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
)


def stage_key(value: str) -> str:
    return " ".join(value.casefold().split())


def default_stage_outcomes() -> dict[str, str]:
    outcomes = {stage_key(s): str(Outcome.OPEN) for s in DEFAULT_OPEN_STAGES}
    outcomes.update({k: str(v) for k, v in DEFAULT_OUTCOMES.items()})
    return outcomes


OUTCOME_WORDS = {
    "open": Outcome.OPEN,
    "won": Outcome.WON,
    "win": Outcome.WON,
    "lost": Outcome.LOST,
    "loss": Outcome.LOST,
    "открыта": Outcome.OPEN,
    "выиграна": Outcome.WON,
    "проиграна": Outcome.LOST,
}


def parse_outcome(value: str) -> str:
    outcome = OUTCOME_WORDS.get(value.strip().casefold())
    if outcome is None:
        raise CellError(
            _("“%(value)s” is not an outcome (use open, won or lost)") % {"value": value}
        )
    return str(outcome)


def parse_pairs(text: str) -> dict[str, str]:
    """ "Won=won, Lost=lost" → {"Won": "won", "Lost": "lost"} (also one pair per line)."""
    pairs: dict[str, str] = {}
    for part in re.split(r"[,\n]", text):
        if not part.strip():
            continue
        left, sep, right = part.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise CellError(_("“%(value)s” is not NAME=VALUE") % {"value": part.strip()})
        pairs[left.strip()] = right.strip()
    return pairs


# ---------------------------------------------------------------- headers


def header_key(value: str) -> str:
    """Headers compared loosely: "Close Date", "close_date" and "CLOSE-DATE" are one."""
    return " ".join(re.sub(r"[^\w]+", " ", value.casefold().replace("_", " ")).split())
