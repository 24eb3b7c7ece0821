"""Synthetic CRM and HR data with known truth, for the demo, the tests and the benchmarks.

`generate()` writes reps (HR fields, teams, managers, hires and leavers), their
opportunities (Salesforce-like stages, log-normal amounts, a new product with a launch date),
stage history, monthly quotas and, given a program, onboarding completions; it returns a
`Truth` holding the values planted in the data so tests can check that the metric engine
recovers them. `write_csv()` writes the same kind of data as the four CSV files the importer
reads (people, opportunities, stage history, quotas).

How the data is made, so the planted values are what the estimators target:

- Hire dates are spread over the window; tenure is 30 days plus an exponential draw whose
  rate makes P(tenure >= 2 years) exactly `Effect.retention_2y`. Leavers are voluntary or
  involuntary; people still employed are censored at `as_of`.
- Each rep's first closed-won deal closes `T` days after the hire date, `T` log-normal with
  median `first_won_median_completed` for reps who completed the onboarding and
  `first_won_median_not` for everyone else. For reps hired after the launch that is the
  story the demo tells; for people already there at the launch (whose first deal came
  before it) it is an association only, the kind the product's caveat warns about: people
  who complete training differ in other ways. Either way "completed vs not" recovers it.
  No deal of theirs closes before it (such closes are pushed later, keeping their
  outcome). Reps whose `T` falls after `as_of` or their leaving date have no won deal:
  they are censored, as the metric expects.
- Every other closed deal is won with its team's probability (`Effect.win_rate`), so the
  win rate by team estimates it (the forced first wins add one win per rep).
- Deals are created at a rate that ramps up linearly over `ramp_days` after the hire date;
  monthly quotas equal the expected bookings of a fully ramped rep of the team.

Writes are bulk (`executemany` on one cursor) so a million opportunities take seconds, and
`bump_data_version()` is called at the end, inside the same transaction.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from verity.accounts.models import User
from verity.analytics.frames import bump_data_version
from verity.analytics.models import (
    ImportKind,
    ImportRun,
    ImportStatus,
    Opportunity,
    Product,
    Quota,
    StageEntry,
)

# Shown by the analytics pages when the data is the demo's (see `is_demo_data`).
SYNTHETIC_NOTICE = _(
    "These figures come from synthetic demo data: generated people and deals with planted "
    "effects, not a real company's CRM."
)
DEMO_SOURCE = "demo"  # ImportRun.source of the rows the demo writes
DEMO_FILE_NAME = "synthetic demo data"
SYNTHETIC_DOMAIN = "synthetic.northwind.example"

OPEN_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"


@dataclass(frozen=True)
class TeamSpec:
    name: str
    job_function: str
    share: float  # of the synthetic reps
    win_rate: float  # planted P(won | closed)
    amount_median: float  # of a deal, before the product factor
    deal_weight: float  # relative rate of new deals
    cycle_median: float  # days from created to close


TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("Sales East", "sales", 0.36, 0.27, 14_000, 1.0, 38),
    TeamSpec("Sales West", "sales", 0.30, 0.22, 12_000, 1.0, 42),
    TeamSpec("Customer Success", "success", 0.20, 0.42, 6_000, 0.6, 25),
    TeamSpec("Support", "support", 0.14, 0.55, 1_500, 0.25, 10),
)
TEAM_INDEX = {t.name: i for i, t in enumerate(TEAMS)}


@dataclass(frozen=True)
class ProductSpec:
    name: str
    weight: float
    amount_factor: float
    launch_days_ago: int | None = None  # the new product


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec("Northwind Flow", 0.40, 1.0),
    ProductSpec("Northwind Ledger", 0.32, 1.2),
    ProductSpec("Northwind Connect", 0.28, 0.6),
    ProductSpec("Northwind Insights", 0.25, 1.5, launch_days_ago=270),
)


@dataclass(frozen=True)
class Effect:
    """What is planted. Medians are days from hire to the first won deal."""

    launch_days_ago: int = 400  # the onboarding program's launch, relative to as_of
    completed_share: float = 0.6  # of reps hired after the launch
    tenured_completed_share: float = 0.85  # of reps already there at the launch
    first_won_median_completed: float = 75.0
    first_won_median_not: float = 110.0
    first_won_sigma: float = 0.3  # log-normal spread of the time to first won deal
    retention_2y: float = 0.72
    voluntary_share: float = 0.7
    ramp_days: float = 150.0
    win_rate: dict[str, float] = field(default_factory=lambda: {t.name: t.win_rate for t in TEAMS})


@dataclass
class Person:
    """One person of the plan: a new rep, an existing user given deals, or a new manager."""

    index: int
    email: str
    name: str
    team: str
    job_function: str
    hire: int  # day offset from as_of (negative: in the past)
    term: int | None = None
    term_type: str = ""
    manager: int | None = None  # index into Plan.people
    manager_user_id: int | None = None  # an existing manager (the demo's)
    user_id: int | None = None  # set for existing users and after writing
    is_manager: bool = False
    existing: bool = False
    completed: bool = False
    completed_at: float | None = None  # day offset
    enrolled_at: float | None = None
    first_won: float | None = None  # day offset of the first won deal's close


@dataclass
class Truth:
    """What was planted and what was written. Offsets are resolved to dates."""

    seed: int
    as_of: date
    start: date
    effect: Effect
    launch_date: date
    program_id: int | None
    new_product: str
    new_product_launch: date
    rep_ids: list[int]
    manager_ids: list[int]
    team_of: dict[int, str]
    hire_date: dict[int, date]
    termination_date: dict[int, date | None]
    completed_ids: set[int]
    hired_after_launch: set[int]
    first_won: dict[int, date | None]
    opportunities: int
    outcomes: dict[str, int]
    win_rate_observed: dict[str, float]
    quotas: int
    stage_entries: int

    @property
    def win_rate_by_team(self) -> dict[str, float]:
        """The planted probability that a closed deal is won, by team."""
        return dict(self.effect.win_rate)

    @property
    def retention_2y(self) -> float:
        return self.effect.retention_2y

    def first_won_days(
        self, completed: bool, *, only_won: bool = True, after_launch: bool = True
    ) -> list[int]:
        """Days from hire to first won deal of reps (hired after the launch, unless
        after_launch=False) who did (not) complete the onboarding; with only_won, reps
        without a won deal are left out (else they count as -1)."""
        days = []
        for pk in self.hired_after_launch if after_launch else self.rep_ids:
            if (pk in self.completed_ids) != completed:
                continue
            won = self.first_won[pk]
            if won is None:
                if not only_won:
                    days.append(-1)
                continue
            days.append((won - self.hire_date[pk]).days)
        return days

    def raw_median_first_won(self, completed: bool, *, after_launch: bool = True) -> float:
        """The median over reps with a won deal (not a survival estimate: a check that the
        effect is in the data, not how the product computes it)."""
        return float(np.median(self.first_won_days(completed, after_launch=after_launch)))


@dataclass
class Plan:
    """Everything to write, independent of the database (so CSV files can be made too)."""

    seed: int
    as_of: date
    years: int
    effect: Effect
    people: list[Person]
    deals: pd.DataFrame  # owner (person index), account, product, amount, stage, outcome,
    # created (int offset), close (int offset)
    stages: pd.DataFrame  # deal (row index into deals), stage, entered_at (float offset)
    quotas: pd.DataFrame  # owner (person index), period_start (date), amount
    id_prefix: str


# ------------------------------------------------------------------ names


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Alex Amelia Ben Carla Daniel Elena Felix Gina Hugo Isla Jack Kara Leo Maya Nico "
    "Olivia Paul Quinn Rosa Sean Tara Umar Vera Will Xena Yusuf Zara Aaron Bianca "
    "Caleb Dina Evan Fiona Gabe Hana Ivan Julia Kofi Lara Milo Nadia Oscar Petra Ravi "
    "Sara Theo Uma Viktor"
)
LAST = _words(
    "Adler Baker Chen Duarte Evans Fischer Garcia Hansen Ito Jensen Kowalski Lopez "
    "Moreau Nakamura Olsen Park Quinn Rossi Silva Tanaka Ueda Vargas Weber Xu Young "
    "Zimmer Abbott Brandt Costa Dubois Ekström Flores Grant Horvat Ibrahim Jovanovic "
    "Keller Lindqvist"
)
ACCOUNT_A = _words(
    "Arbor Birch Cedar Delta Ember Fjord Granite Harbor Iris Juniper Keystone Lumen "
    "Meridian Nimbus Orchard Pioneer Quarry Ridge Summit Tidal Union Vista Willow "
    "Yarrow Zenith"
)
ACCOUNT_B = _words(
    "Foods Logistics Packaging Health Robotics Textiles Energy Retail Labs Freight "
    "Metals Dairy Pharma Tools Studios Systems Brewing Plastics Marine Paper"
)


def _name(rng: np.random.Generator) -> str:
    return f"{FIRST[rng.integers(len(FIRST))]} {LAST[rng.integers(len(LAST))]}"


def _accounts(rng: np.random.Generator, n: int) -> list[str]:
    """Account names that say they are synthetic."""
    names = []
    for i in range(n):
        a = ACCOUNT_A[rng.integers(len(ACCOUNT_A))]
        b = ACCOUNT_B[rng.integers(len(ACCOUNT_B))]
        names.append(f"{a} {b} {i + 1} (synthetic)")
    return names


# ------------------------------------------------------------------ planning


def _lognormal(rng: np.random.Generator, median: float, sigma: float, size: int) -> np.ndarray:
    return rng.lognormal(math.log(median), sigma, size)


def plan(
    *,
    seed: int = 1,
    reps: int = 60,
    opportunities: int = 20_000,
    years: int = 2,
    as_of: date | None = None,
    effect: Effect | None = None,
    existing: Sequence[Person] = (),
    managers: dict[str, int] | None = None,
    stage_history: bool = True,
    id_prefix: str = "SYN",
    email_domain: str = SYNTHETIC_DOMAIN,
) -> Plan:
    """Plan `reps` new reps (plus `existing` people, who get deals and quotas too) and about
    `opportunities` deals over `years` years ending at `as_of`. `managers` maps a team name
    to an existing user id; teams without one get a new manager per ten reps."""
    rng = np.random.default_rng(seed)
    effect = effect or Effect()
    as_of = as_of or timezone.localdate()
    window = 365 * years
    launch = -effect.launch_days_ago
    people: list[Person] = []
    for person in existing:
        person.index = len(people)
        person.existing = True
        people.append(person)

    # New reps: a fifth hired in the first months (the founding team), the rest spread out.
    shares = np.array([t.share for t in TEAMS])
    teams = rng.choice(len(TEAMS), size=reps, p=shares / shares.sum())
    early = rng.random(reps) < 0.2
    hires = np.where(
        early,
        rng.uniform(-window, -window + 90, reps),
        rng.uniform(-window + 90, -21, reps),
    ).astype(int)
    # P(tenure >= 730) = exp(-rate * 700) = retention_2y; the first 30 days nobody leaves.
    rate = -math.log(effect.retention_2y) / 700.0
    tenures = 30 + rng.exponential(1 / rate, reps)
    voluntary = rng.random(reps) < effect.voluntary_share
    names = [_name(rng) for _ in range(reps)]
    new_reps = []
    for i in range(reps):
        team = TEAMS[int(teams[i])]
        term = int(hires[i] + tenures[i])
        person = Person(
            index=len(people),
            email=(
                f"{names[i].lower().replace(' ', '.').replace('ö', 'o')}."
                f"{id_prefix.lower()}{i + 1}@{email_domain}"
            ),
            name=names[i],
            team=team.name,
            job_function=team.job_function,
            hire=int(hires[i]),
        )
        if term < 0:
            person.term = term
            person.term_type = "voluntary" if voluntary[i] else "involuntary"
        people.append(person)
        new_reps.append(person)

    # Managers: the given ones, or one new manager per ten reps of a team.
    managers = managers or {}
    for team in TEAMS:
        members = [p for p in new_reps if p.team == team.name]
        if team.name in managers:
            for p in members:
                p.manager_user_id = managers[team.name]
            continue
        count = max(1, math.ceil(len(members) / 10)) if members else 0
        team_managers = []
        for k in range(count):
            manager = Person(
                index=len(people),
                email=f"manager.{TEAM_INDEX[team.name]}.{k + 1}.{id_prefix.lower()}@{email_domain}",
                name=f"{_name(rng)}",
                team=team.name,
                job_function="leadership",
                hire=-window - int(rng.integers(60, 900)),
                is_manager=True,
            )
            people.append(manager)
            team_managers.append(manager)
        for n, p in enumerate(members):
            p.manager = team_managers[n % count].index

    reps_all = [p for p in people if not p.is_manager]

    # Onboarding: completed within a month of the hire (or of the launch for people already
    # there); existing people keep the completion the demo's program gave them.
    for p in reps_all:
        end = 0 if p.term is None else p.term
        if p.existing:
            pass
        elif p.hire >= launch:
            p.enrolled_at = p.hire + float(rng.uniform(0, 0.4))
            if rng.random() < effect.completed_share:
                p.completed_at = p.enrolled_at + float(rng.uniform(8, 28))
        elif end > launch:
            p.enrolled_at = launch + float(rng.uniform(0, 0.4))
            if rng.random() < effect.tenured_completed_share:
                p.completed_at = p.enrolled_at + float(rng.uniform(8, 40))
        if p.completed_at is not None and p.completed_at < min(end, -0.2):
            p.completed = True
        elif not p.existing:
            p.completed_at = None
        # The planted effect: people who complete the onboarding win their first deal sooner.
        median = effect.first_won_median_completed if p.completed else effect.first_won_median_not
        first = p.hire + float(_lognormal(rng, median, effect.first_won_sigma, 1)[0])
        if first < end:
            p.first_won = math.floor(first)

    deals = _plan_deals(rng, reps_all, opportunities, effect, window)
    stages = _plan_stages(rng, deals) if stage_history else _empty_stages()
    quotas = _plan_quotas(reps_all, deals, effect, as_of, window, opportunities)
    return Plan(seed, as_of, years, effect, people, deals, stages, quotas, id_prefix)


def _ramp_exposure(start: np.ndarray, end: np.ndarray, ramp: float) -> np.ndarray:
    """∫ min(1, t/ramp) dt over [start, end] (t in days since the hire)."""

    def cumulative(t: np.ndarray) -> np.ndarray:
        t = np.maximum(t, 0)
        return np.where(t < ramp, t * t / (2 * ramp), ramp / 2 + (t - ramp))

    return cumulative(end) - cumulative(start)


def _plan_deals(
    rng: np.random.Generator,
    reps: list[Person],
    total: int,
    effect: Effect,
    window: int,
) -> pd.DataFrame:
    hire = np.array([p.hire for p in reps], dtype=float)
    end = np.array([0 if p.term is None else p.term for p in reps], dtype=float)
    team = np.array([TEAM_INDEX[p.team] for p in reps])
    weight = np.array([TEAMS[t].deal_weight for t in team])
    first_won = np.array([np.nan if p.first_won is None else p.first_won for p in reps])
    # Deals start two weeks after the hire and only inside the window.
    begin = np.maximum(hire + 14, -window)
    exposure = weight * _ramp_exposure(
        begin - hire, np.maximum(end, begin) - hire, effect.ramp_days
    )
    forced = ~np.isnan(first_won)
    rest = max(total - int(forced.sum()), 0)
    counts = rng.multinomial(rest, exposure / exposure.sum()) if exposure.sum() > 0 else 0 * team
    owner = np.repeat(np.arange(len(reps)), counts)
    n = len(owner)

    # Created dates from the ramped rate by rejection: uniform in [begin, end], kept with
    # probability min(1, tenure / ramp); the rejected are drawn again.
    created = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        o = owner[todo]
        t = rng.uniform(begin[o], np.maximum(end[o], begin[o] + 1))
        keep = rng.random(len(todo)) < np.minimum(1.0, (t - hire[o]) / effect.ramp_days)
        created[todo[keep]] = t[keep]
        todo = todo[~keep]
    deal_team = team[owner]
    cycle_median = np.array([t.cycle_median for t in TEAMS])[deal_team]
    cycle = np.exp(np.log(cycle_median) + 0.6 * rng.standard_normal(n))
    close = created + cycle
    p_won = np.array([effect.win_rate[t.name] for t in TEAMS])[deal_team]
    won = rng.random(n) < p_won
    # Nothing closes before the first won deal: push those closes past it (NaN compares
    # false, so reps without a won deal keep theirs, and none of their deals is won).
    fw = first_won[owner]
    push = close <= fw
    close = np.where(push, fw + rng.uniform(1, 45, n), close)
    won = won & ~np.isnan(fw)

    # The forced first wins.
    f_owner = np.flatnonzero(forced)
    f_close = first_won[f_owner]
    f_cycle = np.exp(
        np.log(np.array([t.cycle_median for t in TEAMS])[team[f_owner]])
        + 0.4 * rng.standard_normal(len(f_owner))
    )
    f_created = np.maximum(f_close - f_cycle, hire[f_owner] + 1)
    owner = np.concatenate([owner, f_owner])
    created = np.concatenate([created, f_created])
    close = np.concatenate([close, f_close])
    won = np.concatenate([won, np.ones(len(f_owner), bool)])
    n = len(owner)
    deal_team = team[owner]
    rep_end = end[owner]

    # Outcome as of today: past close → won/lost; after the rep left → lost that day; after
    # as_of → still open, the close date being the expected one.
    left = np.array([p.term is not None for p in reps])[owner]
    lost_at_leave = left & (close > rep_end)
    never_won = np.isnan(first_won[owner])
    outcome = np.where(close > 0, "open", np.where(won & ~never_won, "won", "lost"))
    outcome = np.where(lost_at_leave, "lost", outcome)
    close = np.where(lost_at_leave, rep_end, close)
    # An open deal's expected close is tomorrow at the earliest.
    close = np.where(outcome == "open", np.maximum(close, 1.0), close)

    # Products: the new one only for deals created after its launch.
    weights = np.array([p.weight for p in PRODUCTS])
    new_index = next(i for i, p in enumerate(PRODUCTS) if p.launch_days_ago is not None)
    launch = -PRODUCTS[new_index].launch_days_ago  # type: ignore[operator]
    old_w = weights.copy()
    old_w[new_index] = 0
    product = np.where(
        created >= launch,
        rng.choice(len(PRODUCTS), n, p=weights / weights.sum()),
        rng.choice(len(PRODUCTS), n, p=old_w / old_w.sum()),
    )
    factor = np.array([p.amount_factor for p in PRODUCTS])[product]
    median = np.array([t.amount_median for t in TEAMS])[deal_team]
    amount = np.round(np.exp(np.log(median * factor) + 0.8 * rng.standard_normal(n)), -1)
    accounts = _accounts(rng, max(1, n // 8))
    account = rng.integers(len(accounts), size=n)

    order = np.lexsort((owner, created))
    frame = pd.DataFrame(
        {
            "owner": owner[order],
            "account": np.array(accounts, dtype=object)[account[order]],
            "product": product[order],
            "amount": amount[order],
            "outcome": outcome[order],
            "created_f": created[order],
            "close_f": close[order],
        }
    )
    frame["created"] = np.floor(frame["created_f"]).astype(int)
    frame["close"] = np.floor(frame["close_f"]).astype(int)
    # A deal closes on or after the day it was created.
    frame["close"] = np.maximum(frame["close"], frame["created"])
    return frame


def _empty_stages() -> pd.DataFrame:
    return pd.DataFrame({"deal": np.array([], int), "stage": [], "entered_at": np.array([])})


def _plan_stages(rng: np.random.Generator, deals: pd.DataFrame) -> pd.DataFrame:
    """Stage history: won deals pass every open stage, lost ones drop out after one to five,
    open ones have entered the stages whose time has come."""
    n = len(deals)
    outcome = deals["outcome"].to_numpy()
    k = np.where(outcome == "lost", rng.integers(1, len(OPEN_STAGES) + 1, n), len(OPEN_STAGES))
    created = deals["created_f"].to_numpy()
    close = np.maximum(deals["close_f"].to_numpy(), created + 0.01)
    deal = np.repeat(np.arange(n), k)
    position = np.arange(len(deal)) - np.repeat(np.cumsum(k) - k, k)
    kk = k[deal]
    jitter = np.where(position > 0, rng.uniform(0, 0.8, len(deal)), 0.0)
    entered = created[deal] + (close[deal] - created[deal]) * (position + jitter) / kk
    stage = np.array(OPEN_STAGES, dtype=object)[position]
    # The closing stage, for closed deals.
    closed = np.flatnonzero(outcome != "open")
    deal = np.concatenate([deal, closed])
    stage = np.concatenate(
        [stage, np.where(outcome[closed] == "won", WON_STAGE, LOST_STAGE).astype(object)]
    )
    entered = np.concatenate([entered, close[closed]])
    frame = pd.DataFrame({"deal": deal, "stage": stage, "entered_at": entered})
    frame = frame[frame["entered_at"] <= 0]  # the future has not happened yet
    frame = frame.sort_values(["deal", "entered_at"], kind="stable").reset_index(drop=True)
    # Office hours: 08:00-18:00 on the day.
    day = np.floor(frame["entered_at"].to_numpy())
    frame["entered_at"] = day + (8 + 10 * (frame["entered_at"].to_numpy() - day)) / 24
    return frame


def _plan_quotas(
    reps: list[Person],
    deals: pd.DataFrame,
    effect: Effect,
    as_of: date,
    window: int,
    total: int,
) -> pd.DataFrame:
    """Monthly quota = the expected bookings of a fully ramped rep of the team."""
    if deals.empty:
        return pd.DataFrame({"owner": [], "period_start": [], "amount": []})
    # Deals per ramped day per unit of team weight, from what was planned.
    hire = np.array([p.hire for p in reps], dtype=float)
    end = np.array([0 if p.term is None else p.term for p in reps], dtype=float)
    weight = np.array([TEAMS[TEAM_INDEX[p.team]].deal_weight for p in reps])
    begin = np.maximum(hire + 14, -window)
    exposure = (
        weight * _ramp_exposure(begin - hire, np.maximum(end, begin) - hire, effect.ramp_days)
    ).sum()
    per_day = len(deals) / max(exposure, 1.0)
    mean_factor = float(
        sum(p.weight * p.amount_factor for p in PRODUCTS) / sum(p.weight for p in PRODUCTS)
    )
    rows: list[tuple[int, date, float]] = []
    first_month = (as_of - timedelta(days=window)).replace(day=1)
    for p in reps:
        team = TEAMS[TEAM_INDEX[p.team]]
        monthly = (
            per_day
            * team.deal_weight
            * 30.4
            * effect.win_rate[team.name]
            * team.amount_median
            * mean_factor
            * math.exp(0.8**2 / 2)
        )
        monthly = max(round(monthly, -2), 100.0)
        start = (as_of + timedelta(days=p.hire)).replace(day=1)
        start = max(start, first_month)
        stop = as_of + timedelta(days=0 if p.term is None else p.term)
        month = start
        while month <= stop:
            rows.append((p.index, month, monthly))
            month = (month + timedelta(days=32)).replace(day=1)
    return pd.DataFrame(rows, columns=["owner", "period_start", "amount"])


# ------------------------------------------------------------------ writing


def _day(as_of: date, offset: float) -> date:
    return as_of + timedelta(days=math.floor(offset))


def _moment(as_of: date, offset: float) -> datetime:
    base = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.get_current_timezone())
    return base + timedelta(days=offset)


def _date_strings(as_of: date, offsets: np.ndarray) -> np.ndarray:
    days = np.datetime64(as_of, "D") + offsets.astype("timedelta64[D]")
    return np.datetime_as_string(days, unit="D")


def _datetime_strings(as_of: date, offsets: np.ndarray, with_tz: bool) -> list[str]:
    if not len(offsets):
        return []
    seconds = np.round(offsets * 86400).astype("int64")
    moments = np.datetime64(as_of, "s") + seconds.astype("timedelta64[s]")
    text = np.char.replace(np.datetime_as_string(moments, unit="s"), "T", " ")
    if with_tz:
        return [t + "+00:00" for t in text.tolist()]
    return list(text.tolist())


def _executemany(sql: str, rows: Iterable[Sequence[Any]], batch: int = 50_000) -> None:
    chunk: list[Sequence[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return int(cursor.fetchone()[0]) + 1


def _write_people(p: Plan) -> None:
    """Create the new people (no usable password: nobody signs in as a synthetic rep)."""
    unusable = make_password(None)
    new = [x for x in p.people if not x.existing]
    users = [
        User(
            email=x.email,
            name=x.name,
            job_function=x.job_function,
            team=x.team,
            hire_date=_day(p.as_of, x.hire),
            termination_date=None if x.term is None else _day(p.as_of, x.term),
            termination_type=x.term_type,
            # Leavers cannot sign in and are no longer in any training audience.
            is_active=x.term is None,
            date_joined=_moment(p.as_of, x.hire + 9 / 24),
            password=unusable,
        )
        for x in new
    ]
    created = User.objects.bulk_create(users, batch_size=2000)
    for person, user in zip(new, created, strict=True):
        person.user_id = user.pk
    updates = []
    for person in new:
        manager = person.manager_user_id
        if person.manager is not None:
            manager = p.people[person.manager].user_id
        if manager is not None:
            updates.append(User(pk=person.user_id, manager_id=manager))
    User.objects.bulk_update(updates, ["manager"], batch_size=2000)


def _products(p: Plan) -> list[int]:
    ids = []
    for spec in PRODUCTS:
        launch = (
            None if spec.launch_days_ago is None else p.as_of - timedelta(days=spec.launch_days_ago)
        )
        product, created = Product.objects.get_or_create(
            name=spec.name, defaults={"launch_date": launch}
        )
        if not created and launch and product.launch_date is None:
            Product.objects.filter(pk=product.pk).update(launch_date=launch)
        ids.append(product.pk)
    return ids


def _write_deals(p: Plan) -> int:
    deals = p.deals
    product_ids = np.array(_products(p))
    owners = np.array([x.user_id or 0 for x in p.people])[deals["owner"].to_numpy()]
    first_id = _next_id("analytics_opportunity")
    ids = np.arange(first_id, first_id + len(deals))
    outcome = deals["outcome"].to_numpy()
    stage_last = _open_stage_now(p)
    stage = np.where(
        outcome == "won", WON_STAGE, np.where(outcome == "lost", LOST_STAGE, stage_last)
    )
    created = _date_strings(p.as_of, deals["created"].to_numpy())
    close = _date_strings(p.as_of, deals["close"].to_numpy())
    now = timezone.now()
    stamp = now if connection.vendor != "sqlite" else now.strftime("%Y-%m-%d %H:%M:%S")
    external = [f"{p.id_prefix}-{i + 1:07d}" for i in range(len(deals))]
    rows = zip(
        ids.tolist(),
        external,
        owners.tolist(),
        deals["account"].tolist(),
        product_ids[deals["product"].to_numpy()].tolist(),
        deals["amount"].tolist(),
        stage.tolist(),
        outcome.tolist(),
        created.tolist(),
        close.tolist(),
        [stamp] * len(deals),
        strict=True,
    )
    _executemany(
        "INSERT INTO analytics_opportunity (id, external_id, owner_id, account, product_id, "
        "amount, stage, outcome, created_date, close_date, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        rows,
    )
    stages = p.stages
    if not stages.empty:
        entered = _datetime_strings(
            p.as_of, stages["entered_at"].to_numpy(), connection.vendor != "sqlite"
        )
        _executemany(
            "INSERT INTO analytics_stageentry (opportunity_id, stage, entered_at) "
            "VALUES (%s, %s, %s)",
            zip(
                ids[stages["deal"].to_numpy()].tolist(),
                stages["stage"].tolist(),
                entered,
                strict=True,
            ),
        )
    quotas = p.quotas
    if not quotas.empty:
        q_owner = np.array([x.user_id or 0 for x in p.people])[quotas["owner"].to_numpy()]
        _executemany(
            "INSERT INTO analytics_quota (owner_id, period_start, amount) VALUES (%s, %s, %s)",
            zip(
                q_owner.tolist(),
                [d.isoformat() for d in quotas["period_start"]],
                quotas["amount"].tolist(),
                strict=True,
            ),
        )
    if connection.vendor == "postgresql":  # explicit ids: move the sequences past them
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(
                no_style(), [Opportunity, StageEntry, Quota]
            ):
                cursor.execute(sql)
    return len(deals)


def _open_stage_now(p: Plan) -> np.ndarray:
    """The stage each open deal is in today: the last one entered (Prospecting if none)."""
    stage = np.full(len(p.deals), OPEN_STAGES[0], dtype=object)
    if not p.stages.empty:
        last = p.stages.groupby("deal")["stage"].last()
        stage[last.index.to_numpy()] = last.to_numpy()
        stage = np.where(np.isin(stage, [WON_STAGE, LOST_STAGE]), OPEN_STAGES[-1], stage)
    else:
        outcome = p.deals["outcome"].to_numpy()
        share = np.clip(
            -p.deals["created_f"].to_numpy()
            / np.maximum(p.deals["close_f"].to_numpy() - p.deals["created_f"].to_numpy(), 1),
            0,
            0.99,
        )
        open_stage = np.array(OPEN_STAGES, dtype=object)[(share * len(OPEN_STAGES)).astype(int)]
        stage = np.where(outcome == "open", open_stage, stage)
    return stage


def _write_completions(p: Plan, program: Any) -> None:
    """Onboarding enrolments of the new reps, as the learning services would have left
    them: completed ones with their time spent, the others still at it (and reminded)."""
    from verity.learning.models import Enrollment, EnrollmentState

    launched = program.launched_at
    due_days = program.due_days or 30
    rows = []
    for x in p.people:
        if x.existing or x.is_manager or x.enrolled_at is None:
            continue
        # Not before the launch, nor before their first morning (date_joined).
        enrolled = max(_moment(p.as_of, x.enrolled_at), launched, _moment(p.as_of, x.hire + 9 / 24))
        due = enrolled + timedelta(days=due_days)
        started = enrolled + timedelta(hours=2 + (x.index % 20))
        if x.completed and x.completed_at is not None:
            completed = max(_moment(p.as_of, x.completed_at), started + timedelta(hours=1))
            rows.append(
                Enrollment(
                    program=program,
                    user_id=int(x.user_id or 0),
                    track_role=x.job_function,
                    state=EnrollmentState.COMPLETED,
                    enrolled_at=enrolled,
                    released_at=enrolled,
                    started_at=started,
                    completed_at=completed,
                    due_at=due,
                    score=70.0 + (x.index * 7) % 30,
                    time_spent_seconds=3600 + (x.index * 397) % 7200,
                    reminded_at=due - timedelta(days=3)
                    if due - timedelta(days=3) < completed
                    else None,
                )
            )
        else:
            now = timezone.now()
            overdue = due < now
            rows.append(
                Enrollment(
                    program=program,
                    user_id=int(x.user_id or 0),
                    track_role=x.job_function,
                    state=EnrollmentState.IN_PROGRESS,
                    enrolled_at=enrolled,
                    released_at=enrolled,
                    started_at=min(started, now - timedelta(hours=1)),
                    due_at=due,
                    time_spent_seconds=600 + (x.index * 131) % 1800,
                    reminded_at=due - timedelta(days=3) if due - timedelta(days=3) < now else None,
                    overdue_notified_at=due + timedelta(days=1) if overdue else None,
                )
            )
    Enrollment.objects.bulk_create(rows, batch_size=2000)


def write(
    p: Plan, *, program: Any = None, label: str = DEMO_FILE_NAME, source: str = "cli"
) -> Truth:
    """Write the plan in one transaction and return the truth."""
    with transaction.atomic():
        _write_people(p)
        if program is not None:
            _write_completions(p, program)
        count = _write_deals(p)
        now = timezone.now()
        ImportRun.objects.bulk_create(
            [
                ImportRun(
                    kind=kind,
                    source=source,
                    file_name=label,
                    status=ImportStatus.DONE,
                    finished_at=now,
                    rows_total=rows,
                    created_count=rows,
                    options={"synthetic": True, "seed": p.seed},
                )
                for kind, rows in (
                    (ImportKind.PEOPLE, sum(1 for x in p.people if not x.existing)),
                    (ImportKind.OPPORTUNITIES, count),
                    (ImportKind.STAGE_HISTORY, len(p.stages)),
                    (ImportKind.QUOTAS, len(p.quotas)),
                )
            ]
        )
        bump_data_version()
    return truth_of(p, program)


def truth_of(p: Plan, program: Any = None) -> Truth:
    reps = [x for x in p.people if not x.is_manager]
    launch = -p.effect.launch_days_ago
    deals = p.deals
    closed = deals[deals["outcome"] != "open"]
    team = np.array([x.team for x in p.people], dtype=object)[closed["owner"].to_numpy()]
    won = (closed["outcome"] == "won").to_numpy()
    observed = {t.name: float(won[team == t.name].mean()) for t in TEAMS if (team == t.name).any()}
    new = next(s for s in PRODUCTS if s.launch_days_ago is not None)
    return Truth(
        seed=p.seed,
        as_of=p.as_of,
        start=p.as_of - timedelta(days=365 * p.years),
        effect=p.effect,
        launch_date=p.as_of + timedelta(days=launch),
        program_id=None if program is None else program.pk,
        new_product=new.name,
        new_product_launch=p.as_of - timedelta(days=new.launch_days_ago or 0),
        rep_ids=[int(x.user_id or 0) for x in reps],
        manager_ids=[int(x.user_id or 0) for x in p.people if x.is_manager],
        team_of={int(x.user_id or 0): x.team for x in reps},
        hire_date={int(x.user_id or 0): _day(p.as_of, x.hire) for x in reps},
        termination_date={
            int(x.user_id or 0): None if x.term is None else _day(p.as_of, x.term) for x in reps
        },
        completed_ids={int(x.user_id or 0) for x in reps if x.completed},
        hired_after_launch={int(x.user_id or 0) for x in reps if x.hire >= launch},
        first_won={
            int(x.user_id or 0): None if x.first_won is None else _day(p.as_of, x.first_won)
            for x in reps
        },
        opportunities=len(deals),
        outcomes={k: int(v) for k, v in deals["outcome"].value_counts().items()},
        win_rate_observed=observed,
        quotas=len(p.quotas),
        stage_entries=len(p.stages),
    )


def generate(
    *,
    seed: int = 1,
    reps: int = 60,
    opportunities: int = 20_000,
    years: int = 2,
    as_of: date | None = None,
    effect: Effect | None = None,
    program: Any = None,
    existing: Sequence[Person] = (),
    managers: dict[str, int] | None = None,
    stage_history: bool = True,
    id_prefix: str = "SYN",
    label: str = DEMO_FILE_NAME,
    source: str = "cli",
) -> Truth:
    """Plan and write synthetic data; see the module docstring for what is planted.
    `program` (an onboarding Program, launched) receives the reps' enrolments; without one
    the completions are only in the Truth."""
    if program is not None and program.launched_at is not None and effect is None:
        as_of_day = as_of or timezone.localdate()
        effect = Effect(launch_days_ago=(as_of_day - timezone.localdate(program.launched_at)).days)
    p = plan(
        seed=seed,
        reps=reps,
        opportunities=opportunities,
        years=years,
        as_of=as_of,
        effect=effect,
        existing=existing,
        managers=managers,
        stage_history=stage_history,
        id_prefix=id_prefix,
    )
    return write(p, program=program, label=label, source=source)


# ------------------------------------------------------------------ CSV files

CSV_FILES = {
    "people": "people.csv",
    "opportunities": "opportunities.csv",
    "stage-history": "stage_history.csv",
    "quotas": "quotas.csv",
}


def write_csv(
    directory: Path | str,
    *,
    seed: int = 1,
    reps: int = 60,
    opportunities: int = 20_000,
    years: int = 2,
    as_of: date | None = None,
    effect: Effect | None = None,
    stage_history: bool = True,
    id_prefix: str = "SYN",
) -> dict[str, Path]:
    """The four CSV files in the importer's column layout; returns kind → path. Owners are
    named by email; managers come before their reports in people.csv."""
    p = plan(
        seed=seed,
        reps=reps,
        opportunities=opportunities,
        years=years,
        as_of=as_of,
        effect=effect,
        stage_history=stage_history,
        id_prefix=id_prefix,
    )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in CSV_FILES.items()}
    order = sorted(p.people, key=lambda x: (not x.is_manager, x.index))
    with paths["people"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "email",
                "name",
                "job_function",
                "team",
                "manager_email",
                "hire_date",
                "termination_date",
                "termination_type",
            ]
        )
        for x in order:
            writer.writerow(
                [
                    x.email,
                    x.name,
                    x.job_function,
                    x.team,
                    "" if x.manager is None else p.people[x.manager].email,
                    _day(p.as_of, x.hire).isoformat(),
                    "" if x.term is None else _day(p.as_of, x.term).isoformat(),
                    x.term_type,
                ]
            )
    emails = np.array([x.email for x in p.people], dtype=object)
    deals = p.deals
    outcome = deals["outcome"].to_numpy()
    stage = np.where(
        outcome == "won", WON_STAGE, np.where(outcome == "lost", LOST_STAGE, _open_stage_now(p))
    )
    ids = np.array([f"{p.id_prefix}-{i + 1:07d}" for i in range(len(deals))], dtype=object)
    pd.DataFrame(
        {
            "id": ids,
            "owner": emails[deals["owner"].to_numpy()],
            "account": deals["account"],
            "product": np.array([s.name for s in PRODUCTS], dtype=object)[
                deals["product"].to_numpy()
            ],
            "amount": deals["amount"].map("{:.2f}".format),
            "stage": stage,
            "created_date": _date_strings(p.as_of, deals["created"].to_numpy()),
            "close_date": _date_strings(p.as_of, deals["close"].to_numpy()),
        }
    ).to_csv(paths["opportunities"], index=False)
    stages = p.stages
    pd.DataFrame(
        {
            "opportunity_id": ids[stages["deal"].to_numpy()] if len(stages) else [],
            "stage": stages["stage"],
            "entered_at": _datetime_strings(p.as_of, stages["entered_at"].to_numpy(), False),
        }
    ).to_csv(paths["stage-history"], index=False)
    pd.DataFrame(
        {
            "owner": emails[p.quotas["owner"].to_numpy().astype(int)] if len(p.quotas) else [],
            "period_start": [d.isoformat() for d in p.quotas["period_start"]],
            "amount": p.quotas["amount"].map("{:.2f}".format),
        }
    ).to_csv(paths["quotas"], index=False)
    return paths


def is_demo_data() -> bool:
    """True when the analytics data was written by the demo (show `SYNTHETIC_NOTICE`)."""
    return ImportRun.objects.filter(source=DEMO_SOURCE, file_name=DEMO_FILE_NAME).exists()
