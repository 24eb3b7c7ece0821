"""Rows the search app keeps beside the full-text index.

The full-text tables themselves are created in raw SQL by the backends (FTS5 and tsvector
have no Django field); card vectors are plain rows so they work on every database.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from verity.accounts.models import Group
from verity.knowledge.models import Card, Collection


class CardEmbedding(models.Model):
    """One card's sentence vector, and what it should be.

    `text_hash` is the hash of the text the card has now; `vector_hash` the hash of the text
    the stored vector was computed from. They differ while the worker has not caught up, and
    the old vector (if any) keeps serving until then. An archived card keeps its row with no
    vector (a tombstone), so every process's in-memory copy notices it is gone.
    """

    card = models.OneToOneField(Card, on_delete=models.CASCADE, primary_key=True, related_name="+")
    # The card's collection, copied so permission masks need no join when vectors load.
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    text_hash = models.CharField(max_length=32, blank=True)
    vector = models.BinaryField(null=True)  # float32, L2-normalised
    vector_hash = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=80, blank=True)
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["text_hash", "vector_hash"], name="search_embedding_stale")]

    def __str__(self) -> str:
        return f"vector of card {self.card_id}"


class EmbeddingState(models.Model):
    """A single row that changes whenever any vector does, so a process can tell with one
    primary-key read whether its in-memory copy of the vectors is current. `epoch` is new
    whenever the row is (re)created, e.g. after the table was emptied, forcing a full reload."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    epoch = models.UUIDField(default=uuid.uuid4)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"vectors changed {self.changed_at:%Y-%m-%d %H:%M:%S}"


class IndexChange(models.Model):
    """When each card's full-text row last changed, written inside the same write. A
    process's in-memory copy of the index (verity.search.memory) reads the rows it has not
    seen. Card id 0 stands for "every card" (the index was emptied).

    The serial is, on SQLite, the next number, taken inside the write (one writer at a
    time, so serials commit in order); on PostgreSQL, the id of the writing transaction,
    which readers compare with the oldest transaction still running (see
    verity.search.backends.postgres.changes_since)."""

    card_id = models.BigIntegerField(primary_key=True)
    serial = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"card {self.card_id} changed (#{self.serial})"


class SearchEvent(models.Model):
    """One search somebody ran, and which result (if any) they opened.

    Search-as-you-type sends a request per pause in typing; those are folded into one event
    (see `analytics.record_search`), so a row is roughly one question asked. Curators read these
    rows only as counts grouped by `normalized`; who searched is never shown.
    """

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    query = models.CharField(max_length=500)
    # Lower-cased, whitespace-collapsed: the key the reports group by.
    normalized = models.CharField(max_length=500, db_index=True)
    filters = models.JSONField(default=dict, blank=True)
    result_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.WEB)
    took_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    clicked_card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clicked_rank = models.PositiveIntegerField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "source", "-created_at"], name="search_event_recent")
        ]

    def __str__(self) -> str:
        return f"search “{self.query}” ({self.result_count})"


class KnowledgeRequest(models.Model):
    """A knowledge gap handed to a group of subject-matter experts: "please write this card"."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("request status", "Open")
        ANSWERED = "answered", pgettext_lazy("request status", "Answered")
        DISMISSED = "dismissed", pgettext_lazy("request status", "Dismissed")

    query = models.CharField(_("query"), max_length=500)
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="knowledge_requests", verbose_name=_("group")
    )
    note = models.TextField(_("note"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("knowledge request")
        verbose_name_plural = _("knowledge requests")

    def __str__(self) -> str:
        return f"request “{self.query}” → {self.group_id}"
