"""The four kinds of import: which fields each has, how a row is checked, how a batch is
written.

A handler is built once per run. `prepare()` loads every lookup the rows need into
dictionaries (owners by email and name, products and aliases, stage outcomes, the ids that
already exist) so checking a row never queries the database. `check()` turns one row of
text into a tuple ready for the database or raises `RowInvalid` with every problem of the
row. `write()` upserts a batch with one `INSERT ... ON CONFLICT ... DO UPDATE` statement —
the same SQL on SQLite and PostgreSQL, run by `execute_rows` (executemany on SQLite,
multi-row VALUES on PostgreSQL) — and answers how many rows were new and how many replaced
an existing one. People are few: they are kept until `finish()`,
because a manager may appear further down the file than their reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from verity.accounts.models import JobFunction, TerminationType, User
from verity.analytics.imports_parse import (
    CellError,
    default_stage_outcomes,
    month_start,
    parse_amount,
    parse_date,
    parse_datetime,
    stage_key,
)
from verity.analytics.models import (
    ImportKind,
    Opportunity,
    Outcome,
    Product,
    ProductAlias,
    Quota,
    StageEntry,
    StageMapping,
)


@dataclass(frozen=True)
class Target:
    """A field an import fills, and the CSV headers it is usually exported under."""

    name: str
    label: Promise
    required: bool = False
    guesses: tuple[str, ...] = ()


FIELDS: dict[str, tuple[Target, ...]] = {
    ImportKind.PEOPLE: (
        Target("email", gettext_lazy("Email"), True, ("email address", "work email", "e mail")),
        Target("name", gettext_lazy("Name"), False, ("full name", "employee name", "employee")),
        Target(
            "job_function",
            gettext_lazy("Job function"),
            False,
            ("function", "role", "department", "job role"),
        ),
        Target("team", gettext_lazy("Team"), False, ("team name", "sales team")),
        Target(
            "manager_email",
            gettext_lazy("Manager's email"),
            False,
            ("manager", "manager email address", "reports to", "line manager"),
        ),
        Target(
            "hire_date", gettext_lazy("Hire date"), False, ("start date", "hired", "date hired")
        ),
        Target(
            "termination_date",
            gettext_lazy("Termination date"),
            False,
            ("end date", "leave date", "exit date", "last day"),
        ),
        Target(
            "termination_type",
            gettext_lazy("Termination type"),
            False,
            ("exit type", "leave type", "termination reason"),
        ),
    ),
    ImportKind.OPPORTUNITIES: (
        Target(
            "id",
            gettext_lazy("Opportunity id"),
            True,
            ("opportunity id", "deal id", "record id", "opportunity id 18", "hs object id"),
        ),
        Target(
            "owner",
            gettext_lazy("Owner (email or name)"),
            True,
            ("opportunity owner", "deal owner", "owner email", "owner name", "owner full name"),
        ),
        Target(
            "account",
            gettext_lazy("Account"),
            False,
            ("account name", "company", "company name", "associated company"),
        ),
        Target("product", gettext_lazy("Product"), False, ("product name", "primary product")),
        Target(
            "amount",
            gettext_lazy("Amount"),
            False,
            ("deal amount", "total amount", "amount converted", "opportunity amount"),
        ),
        Target(
            "stage",
            gettext_lazy("Stage"),
            True,
            ("deal stage", "opportunity stage", "stage name", "dealstage"),
        ),
        Target(
            "created_date",
            gettext_lazy("Created date"),
            True,
            ("create date", "created", "created on", "createdate", "opportunity created date"),
        ),
        Target(
            "close_date",
            gettext_lazy("Close date"),
            False,
            ("closed date", "closedate", "date closed", "expected close date"),
        ),
    ),
    ImportKind.STAGE_HISTORY: (
        Target(
            "opportunity_id",
            gettext_lazy("Opportunity id"),
            True,
            ("opportunity id", "deal id", "opportunity", "deal", "record id", "id"),
        ),
        Target("stage", gettext_lazy("Stage"), True, ("to stage", "stage name", "deal stage")),
        Target(
            "entered_at",
            gettext_lazy("Entered at"),
            True,
            ("entered", "entered date", "changed at", "edit date", "date", "timestamp"),
        ),
    ),
    ImportKind.QUOTAS: (
        Target(
            "owner", gettext_lazy("Owner (email or name)"), True, ("rep", "user", "owner email")
        ),
        Target(
            "period_start",
            gettext_lazy("Month"),
            True,
            ("period", "month", "start date", "quota month", "period start date"),
        ),
        Target("amount", gettext_lazy("Quota amount"), True, ("quota", "quota amount", "target")),
    ),
}

KINDS: tuple[str, ...] = tuple(FIELDS)


class RowInvalid(Exception):
    """Every problem of one row: (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


Row = dict[str, str]


class Handler:
    kind: str = ""
    #: rows are written by `finish`, not in batches
    holds_rows = False

    def __init__(self, *, stage_map: dict[str, str], product_aliases: dict[str, str]) -> None:
        self.stage_map = stage_map
        self.product_aliases = product_aliases
        self.notes: list[str] = []
        self.now = timezone.now()

    def prepare(self) -> None:
        """Load what checking the rows needs."""

    #: the tables the import writes (their foreign keys are checked after a bulk import)
    tables: tuple[str, ...] = ()

    def start_bulk(self) -> None:
        """Many rows are coming: prepare the database for them (see _SqliteBulkMode)."""

    def check(self, row_number: int, row: Row) -> Any:
        raise NotImplementedError

    def write(self, batch: list[Any]) -> tuple[int, int]:
        raise NotImplementedError

    def finish(self, add_error: Callable[[int, str, str], None], keep: bool) -> tuple[int, int]:
        """Write what `holds_rows` kept; returns (created, updated)."""
        return 0, 0

    def after_write(self) -> None:
        """Remember what the run taught (stage outcomes, product aliases)."""

    def abort(self) -> None:
        """The run failed half-way (the transaction is rolled back): undo connection settings."""


def _upsert_sql(table: str, columns: list[str], conflict: list[str], update: list[str]) -> str:
    quote = connection.ops.quote_name
    cols = ", ".join(quote(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    target = ", ".join(quote(c) for c in conflict)
    if update:
        sets = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update)
        action = f"DO UPDATE SET {sets}"
    else:
        action = "DO NOTHING"
    return f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks}) ON CONFLICT ({target}) {action}"


# PostgreSQL answers one statement per round trip: rows go in as multi-row VALUES lists
# (1,000 rows, at most 10,000 parameters, well under its 65,535 limit). SQLite runs in
# process, where executemany of the one-row statement is as fast and simpler.
ROWS_PER_STATEMENT = 1000


def execute_rows(cursor: Any, sql: str, rows: list[Any]) -> int:
    """Run the one-row INSERT `sql` for every row; returns how many rows it changed."""
    if not rows:
        return 0
    if connection.vendor == "sqlite":
        cursor.executemany(sql, rows)
        return max(cursor.rowcount, 0)
    head, values, tail = _split_values(sql)
    changed = 0
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        cursor.execute(
            head + ", ".join([values] * len(chunk)) + tail,
            [value for row in chunk for value in row],
        )
        changed += max(cursor.rowcount, 0)
    return changed


def _split_values(sql: str) -> tuple[str, str, str]:
    head, _sep, rest = sql.partition(" VALUES ")
    close = rest.index(")") + 1
    return head + " VALUES ", rest[:close], rest[close:]


class _Adapt:
    """Values as the database driver wants them, cached: dates repeat thousands of times."""

    def __init__(self) -> None:
        self._dates: dict[date, Any] = {}

    def day(self, value: date | None) -> Any:
        if value is None:
            return None
        adapted = self._dates.get(value)
        if adapted is None:
            adapted = self._dates[value] = connection.ops.adapt_datefield_value(value)
        return adapted

    @staticmethod
    def moment(value: Any) -> Any:
        return connection.ops.adapt_datetimefield_value(value)

    @staticmethod
    def money(value: Decimal) -> Any:
        # SQLite's adapter turns a Decimal into its text; PostgreSQL takes it as numeric.
        return value


def _text(row: Row, name: str, limit: int, problems: list[tuple[str, str]]) -> str:
    value = row.get(name, "").strip()
    if len(value) > limit:
        problems.append(
            (name, _("longer than %(limit)s characters") % {"limit": limit})  # type: ignore[str-format]
        )
    return value


def _required(row: Row, name: str, problems: list[tuple[str, str]]) -> str:
    value = row.get(name, "").strip()
    if not value:
        problems.append((name, _("is empty; this column is required")))
    return value


class _Owners:
    """Reps by email (case-insensitive) or by their exact name."""

    def __init__(self) -> None:
        self.by_email: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        for pk, email, name in User.objects.values_list("pk", "email", "name"):
            self.by_email[email.lower()] = pk
            if name:
                self.by_name.setdefault(" ".join(name.split()), []).append(pk)

    def find(self, value: str) -> int:
        if "@" in value:
            pk = self.by_email.get(value.lower())
            if pk is None:
                raise CellError(_("no person with the email “%(value)s”") % {"value": value})
            return pk
        found = self.by_name.get(" ".join(value.split()), [])
        if not found:
            raise CellError(
                _("no person named “%(value)s” (import people first, or use their email)")
                % {"value": value}
            )
        if len(found) > 1:
            raise CellError(
                _("%(count)s people are named “%(value)s”: use the email instead")
                % {"count": len(found), "value": value}
            )
        return found[0]


def _stage_outcomes(stage_map: dict[str, str]) -> dict[str, str]:
    outcomes = default_stage_outcomes()
    outcomes.update(dict(StageMapping.objects.values_list("stage", "outcome")))
    outcomes.update({stage_key(k): v for k, v in stage_map.items()})
    return outcomes


def _remember_stage_map(stage_map: dict[str, str]) -> None:
    for stage, outcome in stage_map.items():
        StageMapping.objects.update_or_create(
            stage=stage_key(stage)[:100], defaults={"outcome": outcome}
        )


class ProductResolver:
    """Product names through the aliases (case-folded), then the names; a new name becomes
    a new product (created in the import's transaction)."""

    def __init__(self, product_aliases: dict[str, str]) -> None:
        self.by_name = {
            name.casefold(): pk for pk, name in Product.objects.values_list("pk", "name")
        }
        self.by_alias = dict(ProductAlias.objects.values_list("alias", "product_id"))
        self.extra_aliases = {stage_key(k): v.strip() for k, v in product_aliases.items()}
        self.created: list[str] = []

    def find(self, value: str, *, create: bool = True) -> int | None:
        key = stage_key(value)
        pk = self.by_alias.get(key)
        if pk is not None:
            return pk
        target = self.extra_aliases.get(key)
        if target is not None:
            pk = self._by_name(target, create)
            if pk is not None:
                self.by_alias[key] = pk
            return pk
        return self._by_name(value, create)

    def _by_name(self, name: str, create: bool) -> int | None:
        name = " ".join(name.split())
        pk = self.by_name.get(name.casefold())
        if pk is None and create:
            pk = Product.objects.create(name=name[:200]).pk
            self.by_name[name.casefold()] = pk
            self.created.append(name)
        return pk

    def remember_aliases(self) -> None:
        for alias, name in self.extra_aliases.items():
            pk = self._by_name(name, True)
            if pk is not None and alias != name.casefold():
                ProductAlias.objects.update_or_create(
                    alias=alias[:200], defaults={"product_id": pk}
                )


class _SqliteBulkMode:
    """For a large import on SQLite: a bigger page cache, and the table's secondary indexes
    dropped while the rows go in and built again at the end (one sort per index instead of
    a random B-tree insert per row per index: about three times faster). It all happens in
    the import's transaction, so readers keep the old table and its indexes until the
    commit, and a rollback restores them."""

    CACHE_PAGES_KIB = 262_144  # 256 MB for this connection while the import runs

    def __init__(self, table: str) -> None:
        self.table = table
        self.index_sql: list[str] = []
        self.active = False

    def start(self) -> None:
        if connection.vendor != "sqlite" or self.active:
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            self.cache_size = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{self.CACHE_PAGES_KIB}")
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [self.table],
            )
            found = cursor.fetchall()
            for name, _sql in found:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        self.index_sql = [sql for _name, sql in found]
        self.active = True

    def reset_cache(self) -> None:
        """After a failure: the rollback restores the indexes; the page cache is ours to undo."""
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.cache_size)}")
            self.active = False

    def stop(self) -> None:
        if not self.active:
            return
        with connection.cursor() as cursor:
            # Index builds sort; let SQLite's sorter use a second core.
            cursor.execute("PRAGMA threads = 2")
            for sql in self.index_sql:
                cursor.execute(sql)
            cursor.execute(f"PRAGMA cache_size = {int(self.cache_size)}")
        self.active = False


# Above this many rows an import on SQLite switches to the bulk mode.
BULK_MODE_ROWS = 50_000


class OpportunityHandler(Handler):
    kind = ImportKind.OPPORTUNITIES
    tables = (Opportunity._meta.db_table,)
    COLUMNS = [
        "external_id",
        "owner_id",
        "account",
        "product_id",
        "amount",
        "stage",
        "outcome",
        "created_date",
        "close_date",
        "updated_at",
    ]

    def prepare(self) -> None:
        self.owners = _Owners()
        self.products = ProductResolver(self.product_aliases)
        self.outcomes = _stage_outcomes(self.stage_map)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT external_id FROM {Opportunity._meta.db_table}")
            self.existing = {row[0] for row in cursor.fetchall()}
        self.seen: dict[str, int] = {}
        self.adapt = _Adapt()
        self.stamp = self.adapt.moment(self.now)
        table = Opportunity._meta.db_table
        self.upsert = _upsert_sql(table, self.COLUMNS, ["external_id"], self.COLUMNS[1:])
        self.insert = self.upsert.split(" ON CONFLICT")[0]
        # The cells repeat: a few hundred owners, stages and products in a million rows.
        self.owner_ids: dict[str, int] = {}
        self.stage_outcomes: dict[str, str] = {}
        self.product_ids: dict[str, int | None] = {"": None}
        self.bulk = _SqliteBulkMode(table)

    def start_bulk(self) -> None:
        self.bulk.start()

    def check(self, row_number: int, row: Row) -> tuple[Any, ...]:
        problems: list[tuple[str, str]] = []
        get = row.get
        external_id = get("id", "").strip()
        if not external_id:
            problems.append(("id", _("is empty; this column is required")))
        elif len(external_id) > 100:
            problems.append(("id", _("longer than 100 characters")))
        else:
            first = self.seen.get(external_id)
            if first is not None:
                problems.append(
                    (
                        "id",
                        _("duplicate id “%(id)s” (also on row %(row)s)")
                        % {"id": external_id, "row": first},
                    )
                )
            else:
                self.seen[external_id] = row_number
        owner = get("owner", "")
        owner_id = self.owner_ids.get(owner)
        if owner_id is None:
            if not owner.strip():
                problems.append(("owner", _("is empty; this column is required")))
            else:
                try:
                    owner_id = self.owner_ids[owner] = self.owners.find(owner.strip())
                except CellError as exc:
                    problems.append(("owner", str(exc)))
        account = get("account", "").strip()
        if len(account) > 255:
            problems.append(("account", _("longer than 255 characters")))
        amount = Decimal(0)
        raw_amount = get("amount", "")
        if raw_amount:
            try:
                amount = parse_amount(raw_amount)
            except CellError as exc:
                problems.append(("amount", str(exc)))
        stage = get("stage", "").strip()
        outcome = self.stage_outcomes.get(stage, "")
        if not outcome:
            if not stage:
                problems.append(("stage", _("is empty; this column is required")))
            elif len(stage) > 100:
                problems.append(("stage", _("longer than 100 characters")))
            else:
                found = self.outcomes.get(stage_key(stage))
                if found is None:
                    problems.append(
                        (
                            "stage",
                            _(
                                "unknown stage “%(stage)s” — map it with --stage-map or on the "
                                "stage mapping page"
                            )
                            % {"stage": stage},
                        )
                    )
                else:
                    outcome = self.stage_outcomes[stage] = found
        created = close = None
        raw_created = get("created_date", "")
        if not raw_created.strip():
            problems.append(("created_date", _("is empty; this column is required")))
        else:
            try:
                created = parse_date(raw_created)
            except CellError as exc:
                problems.append(("created_date", str(exc)))
        raw_close = get("close_date", "")
        if raw_close.strip():
            try:
                close = parse_date(raw_close)
            except CellError as exc:
                problems.append(("close_date", str(exc)))
        elif outcome == Outcome.WON or outcome == Outcome.LOST:
            problems.append(("close_date", _("is empty; a won or lost deal needs a close date")))
        if problems:
            raise RowInvalid(problems)
        # Resolved last: a new name creates a product, which an invalid row must not do.
        product = get("product", "")
        try:
            product_id = self.product_ids[product]
        except KeyError:
            product_id = None
            if product.strip():
                product_id = self.products.find(product.strip())
            self.product_ids[product] = product_id
        adapt_day = self.adapt.day
        return (
            external_id,
            owner_id,
            account,
            product_id,
            amount,
            stage,
            outcome,
            adapt_day(created),
            adapt_day(close),
            self.stamp,
        )

    def write(self, batch: list[Any]) -> tuple[int, int]:
        existing = self.existing
        new = [record for record in batch if record[0] not in existing]
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite" and len(new) < len(batch):
                # SQLite holds the write lock for the whole import, so nobody can add an id
                # between the lookup and here: new rows take the plain (faster) INSERT.
                execute_rows(cursor, self.insert, new)
                execute_rows(cursor, self.upsert, [r for r in batch if r[0] in existing])
            elif connection.vendor == "sqlite":
                execute_rows(cursor, self.insert, batch)
            else:
                execute_rows(cursor, self.upsert, batch)
        return len(new), len(batch) - len(new)

    def finish(self, add_error: Callable[[int, str, str], None], keep: bool) -> tuple[int, int]:
        self.bulk.stop()
        return 0, 0

    def abort(self) -> None:
        self.bulk.reset_cache()

    def after_write(self) -> None:
        _remember_stage_map(self.stage_map)
        self.products.remember_aliases()
        if self.products.created:
            self.notes.append(
                _("New products: %(names)s") % {"names": ", ".join(self.products.created[:20])}
            )


class StageHistoryHandler(Handler):
    kind = ImportKind.STAGE_HISTORY
    tables = (StageEntry._meta.db_table,)
    COLUMNS = ["opportunity_id", "stage", "entered_at"]

    def prepare(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT external_id, id FROM {Opportunity._meta.db_table}")
            self.opportunities = dict(cursor.fetchall())
        self.seen: dict[tuple[int, str, Any], int] = {}
        self.adapt = _Adapt()
        self.sql = _upsert_sql(StageEntry._meta.db_table, self.COLUMNS, self.COLUMNS, [])

    def check(self, row_number: int, row: Row) -> tuple[Any, ...]:
        problems: list[tuple[str, str]] = []
        opportunity_id = None
        external_id = _required(row, "opportunity_id", problems)
        if external_id:
            opportunity_id = self.opportunities.get(external_id)
            if opportunity_id is None:
                problems.append(
                    (
                        "opportunity_id",
                        _("no opportunity with the id “%(id)s” (import opportunities first)")
                        % {"id": external_id},
                    )
                )
        stage = _required(row, "stage", problems)
        if len(stage) > 100:
            problems.append(("stage", _("longer than 100 characters")))
        entered = None
        raw_entered = _required(row, "entered_at", problems)
        if raw_entered:
            try:
                entered = self.adapt.moment(parse_datetime(raw_entered))
            except CellError as exc:
                problems.append(("entered_at", str(exc)))
        if problems:
            raise RowInvalid(problems)
        key = (opportunity_id or 0, stage, entered)
        first = self.seen.get(key)
        if first is not None:
            raise RowInvalid(
                [("stage", _("the same entry is already on row %(row)s") % {"row": first})]
            )
        self.seen[key] = row_number
        return key

    def write(self, batch: list[Any]) -> tuple[int, int]:
        with connection.cursor() as cursor:
            created = execute_rows(cursor, self.sql, batch)
        return created, len(batch) - created


class QuotaHandler(Handler):
    kind = ImportKind.QUOTAS
    tables = (Quota._meta.db_table,)
    COLUMNS = ["owner_id", "period_start", "amount"]

    def prepare(self) -> None:
        self.owners = _Owners()
        self.existing = set(Quota.objects.values_list("owner_id", "period_start"))
        self.seen: dict[tuple[int, date], int] = {}
        self.adapt = _Adapt()
        self.sql = _upsert_sql(
            Quota._meta.db_table, self.COLUMNS, ["owner_id", "period_start"], ["amount"]
        )

    def check(self, row_number: int, row: Row) -> tuple[Any, ...]:
        problems: list[tuple[str, str]] = []
        owner_id = period = amount = None
        owner = _required(row, "owner", problems)
        if owner:
            try:
                owner_id = self.owners.find(owner)
            except CellError as exc:
                problems.append(("owner", str(exc)))
        raw_period = _required(row, "period_start", problems)
        if raw_period:
            try:
                period = month_start(parse_date(raw_period))
            except CellError as exc:
                problems.append(("period_start", str(exc)))
        raw_amount = _required(row, "amount", problems)
        if raw_amount:
            try:
                amount = parse_amount(raw_amount)
            except CellError as exc:
                problems.append(("amount", str(exc)))
        if owner_id is not None and period is not None:
            first = self.seen.get((owner_id, period))
            if first is not None:
                problems.append(
                    (
                        "period_start",
                        _("this person's quota for this month is already on row %(row)s")
                        % {"row": first},
                    )
                )
            else:
                self.seen[(owner_id, period)] = row_number
        if problems:
            raise RowInvalid(problems)
        return (owner_id, period, amount)

    def write(self, batch: list[Any]) -> tuple[int, int]:
        created = sum(1 for owner, period, _a in batch if (owner, period) not in self.existing)
        rows = [(owner, self.adapt.day(period), amount) for owner, period, amount in batch]
        with connection.cursor() as cursor:
            execute_rows(cursor, self.sql, rows)
        return created, len(batch) - created


def _choices_by_word(choices: Iterable[tuple[str, Any]], extra: dict[str, str]) -> dict[str, str]:
    """Values and labels (English and Russian) of a choice list, case-folded."""
    words = dict(extra)
    for value, label in choices:
        words[value.casefold()] = value
        for language in ("en", "ru"):
            with translation.override(language):
                words[str(label).casefold()] = value
    return words


JOB_FUNCTION_WORDS = {
    "cs": JobFunction.SUCCESS,
    "customer success manager": JobFunction.SUCCESS,
    "csm": JobFunction.SUCCESS,
    "account executive": JobFunction.SALES,
    "ae": JobFunction.SALES,
    "sdr": JobFunction.SALES,
    "bdr": JobFunction.SALES,
    "customer support": JobFunction.SUPPORT,
    "management": JobFunction.LEADERSHIP,
}


@dataclass
class Person:
    row: int
    email: str
    fields: dict[str, Any]
    manager_email: str | None  # None: column absent or empty


class PeopleHandler(Handler):
    """Creates or updates users by email. A column the file does not have leaves that field
    alone; an empty cell clears it (except the name and job function, which are kept)."""

    kind = ImportKind.PEOPLE
    holds_rows = True

    def prepare(self) -> None:
        self.functions = _choices_by_word(JobFunction.choices, dict(JOB_FUNCTION_WORDS))
        self.terminations = _choices_by_word(TerminationType.choices, {})
        self.people: list[Person] = []
        self.seen: dict[str, int] = {}

    def check(self, row_number: int, row: Row) -> Person:
        problems: list[tuple[str, str]] = []
        email = _required(row, "email", problems).lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(
                    ("email", _("“%(value)s” is not an email address") % {"value": email})
                )
            else:
                first = self.seen.get(email)
                if first is not None:
                    problems.append(
                        ("email", _("duplicate email (also on row %(row)s)") % {"row": first})
                    )
                else:
                    self.seen[email] = row_number
        fields: dict[str, Any] = {}
        name = _text(row, "name", 150, problems)
        if name:
            fields["name"] = name
        raw_function = row.get("job_function", "").strip()
        if raw_function:
            function = self.functions.get(" ".join(raw_function.casefold().split()))
            if function is None:
                problems.append(
                    (
                        "job_function",
                        _("“%(value)s” is not a job function (use %(choices)s)")
                        % {
                            "value": raw_function,
                            "choices": ", ".join(str(label) for _v, label in JobFunction.choices),
                        },
                    )
                )
            else:
                fields["job_function"] = function
        if "team" in row:
            fields["team"] = _text(row, "team", 100, problems)
        for name_ in ("hire_date", "termination_date"):
            if name_ in row:
                raw = row[name_].strip()
                fields[name_] = None
                if raw:
                    try:
                        fields[name_] = parse_date(raw)
                    except CellError as exc:
                        problems.append((name_, str(exc)))
        if "termination_type" in row:
            raw = row["termination_type"].strip()
            fields["termination_type"] = ""
            if raw:
                found = self.terminations.get(raw.casefold())
                if found is None:
                    problems.append(
                        (
                            "termination_type",
                            _(
                                "“%(value)s” is not a termination type "
                                "(use voluntary or involuntary)"
                            )
                            % {"value": raw},
                        )
                    )
                else:
                    fields["termination_type"] = found
        # None: the file has no manager column (keep the manager); "": clear it.
        manager_email = row["manager_email"].strip().lower() if "manager_email" in row else None
        if manager_email:
            try:
                validate_email(manager_email)
            except ValidationError:
                problems.append(
                    (
                        "manager_email",
                        _("“%(value)s” is not an email address") % {"value": manager_email},
                    )
                )
            if manager_email == email:
                problems.append(("manager_email", _("a person cannot be their own manager")))
        if problems:
            raise RowInvalid(problems)
        person = Person(row_number, email, fields, manager_email)
        self.people.append(person)
        return person

    def finish(self, add_error: Callable[[int, str, str], None], keep: bool) -> tuple[int, int]:
        """Resolve managers against the file and the users already known, then write."""
        known = {e.lower(): pk for pk, e in User.objects.values_list("pk", "email")}
        people = list(self.people)
        while True:
            in_file = {p.email for p in people}
            bad = [
                p
                for p in people
                if p.manager_email
                and p.manager_email not in in_file
                and p.manager_email not in known
            ]
            for person in bad:
                add_error(
                    person.row,
                    "manager_email",
                    _("no person with the email “%(value)s” in this file or in Verity")
                    % {"value": person.manager_email},
                )
            if not bad:
                break
            people = [p for p in people if p not in bad]
        if not keep:
            return 0, 0
        return self._save(people, known)

    def _save(self, people: list[Person], known: dict[str, int]) -> tuple[int, int]:
        today = timezone.localdate()
        existing = {
            u.email.lower(): u for u in User.objects.filter(email__in=[p.email for p in people])
        }
        new: list[User] = []
        changed: list[User] = []
        update_fields: set[str] = set()
        for person in people:
            user = existing.get(person.email)
            if user is None:
                user = User(email=person.email, password=make_password(None), **person.fields)
                new.append(user)
            else:
                was_terminated = (
                    user.termination_date is not None and user.termination_date <= today
                )
                for name, value in person.fields.items():
                    setattr(user, name, value)
                update_fields.update(person.fields)
                if (
                    "termination_date" in person.fields
                    and was_terminated
                    and not user.is_active
                    and (user.termination_date is None or user.termination_date > today)
                ):
                    user.is_active = True  # rehired: the import had made them inactive
                    update_fields.add("is_active")
                changed.append(user)
            if user.termination_date is not None and user.termination_date <= today:
                user.is_active = False
                update_fields.add("is_active")
        User.objects.bulk_create(new, batch_size=500)
        if changed and update_fields:
            _update_users(changed, sorted(update_fields))
        by_email = {u.email: u for u in [*new, *changed]}
        known = {**known, **{e: u.pk for e, u in by_email.items()}}
        with_managers = []
        for person in people:
            if person.manager_email is None:
                continue
            user = by_email[person.email]
            user.manager_id = known[person.manager_email] if person.manager_email else None
            with_managers.append(user)
        if with_managers:
            _update_users(with_managers, ["manager"])
        return len(new), len(changed)


def _update_users(users: list[User], names: list[str]) -> None:
    """One UPDATE per user through executemany: Django's bulk_update builds a CASE per field
    and row, which takes seconds for a few thousand people."""
    fields: list[Any] = [User._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(User._meta.db_table)} SET {sets} WHERE {quote('id')} = %s"
    rows = [
        [f.get_db_prep_save(getattr(user, f.attname), connection) for f in fields] + [user.pk]
        for user in users
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


HANDLERS: dict[str, type[Handler]] = {
    ImportKind.PEOPLE: PeopleHandler,
    ImportKind.OPPORTUNITIES: OpportunityHandler,
    ImportKind.STAGE_HISTORY: StageHistoryHandler,
    ImportKind.QUOTAS: QuotaHandler,
}
