"""A month of searches for the demo, so "Search insights" is not empty on first start.

The queries, who asks them and how often come from searches.yaml; how many cards each search
finds is not made up: every search really runs as the person who asked it, against the demo
cards just loaded. Which result they opened is chosen from what that search returned.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.search.analytics import normalize
from verity.search.models import KnowledgeRequest, SearchEvent
from verity.search.services import search_cards

HERE = Path(__file__).resolve().parent
DAYS = 30
# Of the searches that found the answer, the share where somebody opened a result (the rest
# read the snippet and went back to their call).
OPEN_RATE = 0.8
API_SHARE = 0.1  # searches from scripts and the chat bot, through the JSON API


@dataclass(frozen=True)
class Found:
    total: int
    card_ids: list[int]  # the first page, best first
    titles: list[str]


def plan() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HERE / "searches.yaml").read_text(encoding="utf-8"))
    return data


class SearchHistory:
    def __init__(self, *, users: list[User], now: datetime, seed: int) -> None:
        # Its own generator: adding searches must not change the rest of the demo.
        self.rng = random.Random(seed)
        self.now = now
        # Fresh rows: the loader set languages with update(), behind its objects' backs.
        self.users = list(User.objects.filter(pk__in=[u.pk for u in users]).order_by("email"))
        self.found: dict[tuple[Any, str], Found] = {}

    def askers(self, who: list[str], lang: str | None) -> list[User]:
        people = [
            u
            for u in self.users
            if u.site_role != "admin" and ("all" in who or u.job_function in who)
        ]
        if lang:
            people = [u for u in people if u.language == lang]
        if not people:  # the data file names a team nobody is in: a bug in the data
            raise ValueError(f"nobody asks as {who} {lang or ''}")
        return people

    def search(self, person: User, query: str) -> Found:
        # People who read the same collections get the same results: search once per group.
        readable = access.readable_collection_ids(person)
        key = (None if readable is None else tuple(sorted(readable)), normalize(query))
        if key not in self.found:
            # Lexical only: no card has a vector yet (the worker computes them later), so this
            # is exactly what the search answered at the time, and no model is loaded here.
            results = search_cards(
                user=person, query=query, limit=5, snippets=False, use_semantic=False
            )
            self.found[key] = Found(
                total=results.total,
                card_ids=[r.card.pk for r in results.results],
                titles=[r.card.title for r in results.results],
            )
        return self.found[key]

    def when(self) -> datetime:
        """A moment in working hours in the last month; fewer searches at weekends."""
        while True:
            day = (self.now - timedelta(days=self.rng.randint(0, DAYS - 1))).replace(
                hour=self.rng.randint(8, 18), minute=self.rng.randint(0, 59), second=0
            )
            if day >= self.now or day <= self.now - timedelta(days=DAYS):
                continue
            if day.weekday() < 5 or self.rng.random() < 0.15:
                return day

    def spelling(self, query: str) -> str:
        """How it was typed: the reports group these under one normalised query."""
        return self.rng.choice([query, query, query.lower(), query[:1].upper() + query[1:]])

    def clicked(self, found: Found, opens: str | None) -> tuple[int, int] | None:
        """(card id, rank) of the result opened: the one the data names, if the search showed
        it, else mostly the first."""
        if not found.card_ids or self.rng.random() > OPEN_RATE:
            return None
        if opens:
            for rank, title in enumerate(found.titles, start=1):
                if opens.lower() in title.lower():
                    return found.card_ids[rank - 1], rank
        rank = 1 if self.rng.random() < 0.75 else self.rng.randint(1, len(found.card_ids))
        return found.card_ids[rank - 1], rank

    def events(self) -> list[SearchEvent]:
        events = []
        for row in plan()["queries"]:
            people = self.askers(row["who"], row.get("lang"))
            times = max(1, round(row["n"] * self.rng.uniform(0.8, 1.2)))
            for _ in range(times):
                person = self.rng.choice(people)
                query = self.spelling(str(row["q"]))
                found = self.search(person, query)
                created = self.when()
                event = SearchEvent(
                    user=person,
                    query=query,
                    normalized=normalize(query),
                    filters={},
                    result_count=found.total,
                    source=(
                        SearchEvent.Source.API
                        if self.rng.random() < API_SHARE
                        else SearchEvent.Source.WEB
                    ),
                    took_ms=self.rng.randint(12, 140),
                    created_at=created,
                )
                click = self.clicked(found, row.get("opens")) if row["kind"] == "answered" else None
                if click is not None:
                    event.clicked_card_id, event.clicked_rank = click
                    event.clicked_at = created + timedelta(seconds=self.rng.randint(2, 40))
                events.append(event)
        return events

    def requests(self, curator: User) -> list[KnowledgeRequest]:
        return [
            KnowledgeRequest(
                query=row["query"],
                group=Group.objects.get(name=row["group"]),
                note=row["note"],
                requested_by=curator,
                created_at=self.now - timedelta(days=row["days_ago"], hours=3),
            )
            for row in plan()["requests"]
        ]


def load_search_history(*, users: list[User], curator: User, now: datetime, seed: int) -> int:
    """Write the demo's searches and open knowledge requests; returns how many searches.
    The requests are written directly, not through `create_request`: they are history, and
    emailing the experts about them on first start would be noise."""
    history = SearchHistory(users=users, now=now, seed=seed)
    events = history.events()
    SearchEvent.objects.bulk_create(events)
    KnowledgeRequest.objects.bulk_create(history.requests(curator))
    return len(events)
