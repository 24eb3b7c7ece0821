"""Cards, collections, folders, verification and history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from verity.accounts.models import Group


class AccessRole(models.TextChoices):
    """What a group may do in a collection; each role includes the ones before it."""

    READ = "read", _("Read")
    AUTHOR = "author", _("Author")
    CURATE = "curate", _("Curate")


ROLE_RANK = {AccessRole.READ: 1, AccessRole.AUTHOR: 2, AccessRole.CURATE: 3}


class VerificationState(models.TextChoices):
    VERIFIED = "verified", _("Verified")
    NEEDS_VERIFICATION = "needs_verification", _("Needs verification")
    UNVERIFIED = "unverified", _("Unverified")


class VerificationReason(models.TextChoices):
    NONE = "", _("—")
    NEW = "new", _("New card")
    EXPIRED = "expired", _("Verification interval passed")
    FLAGGED = "flagged", _("Flagged as outdated")
    EDITED = "edited", _("Edited by someone other than the verifier")
    NEW_VERIFIER = "new_verifier", _("Verifier changed")


VERIFICATION_INTERVALS = [7, 30, 90, 180, 365]
DEFAULT_VERIFICATION_INTERVAL = 90


class Collection(models.Model):
    """A permission boundary: groups get read, author or curate on it."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    groups: models.ManyToManyField[Group, CollectionAccess] = models.ManyToManyField(
        Group, through="CollectionAccess", related_name="collections"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("collection")
        verbose_name_plural = _("collections")

    def __str__(self) -> str:
        return self.name


class CollectionAccess(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="access")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="collection_access")
    role = models.CharField(max_length=10, choices=AccessRole.choices, default=AccessRole.READ)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "group"], name="one_grant_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.group} → {self.collection}: {self.role}"


class Folder(models.Model):
    """Nested, ordered organisation inside one collection."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("folder")
        verbose_name_plural = _("folders")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Card(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="cards")
    title = models.CharField(_("title"), max_length=300)
    content = models.TextField(_("content"), blank=True)
    content_html = models.TextField(blank=True, help_text="Sanitised HTML rendered from content")
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_cards"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="cards")
    # Set by the search on its result cards only (verity.search.services.result_cards).
    tag_names: list[str]
    plain_text: str | None
    folders: models.ManyToManyField[Folder, CardFolder] = models.ManyToManyField(
        Folder, through="CardFolder", related_name="cards", blank=True
    )

    verifier_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cards_to_verify",
    )
    verifier_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="cards_to_verify"
    )
    # None means "never expires".
    verification_interval_days = models.PositiveIntegerField(
        null=True, blank=True, default=DEFAULT_VERIFICATION_INTERVAL
    )
    verification_state = models.CharField(
        max_length=20, choices=VerificationState.choices, default=VerificationState.UNVERIFIED
    )
    verification_reason = models.CharField(
        max_length=20,
        choices=VerificationReason.choices,
        default=VerificationReason.NEW,
        blank=True,
    )
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    next_verification_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Since when the card has waited for its verifier: the queue shows the oldest first.
    needs_verification_since = models.DateTimeField(null=True, blank=True)

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    # Set when a curator merged this card into another: it is archived, and its page
    # redirects there so old links and bookmarks keep working.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cards"
    )

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["collection", "archived_at"]),
            models.Index(fields=["verification_state", "next_verification_at"]),
            # Which of a search's best matches are verified, without reading the cards: on
            # SQLite the state sits behind the text, in overflow pages (1.9 → 0.6 ms for 100).
            models.Index(fields=["verification_state", "id"], name="card_state_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(verifier_user__isnull=True)
                | models.Q(verifier_group__isnull=True),
                name="card_single_verifier",
            )
        ]
        verbose_name = _("card")
        verbose_name_plural = _("cards")

    def __str__(self) -> str:
        return self.title

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def verifier(self) -> object | None:
        return self.verifier_user or self.verifier_group


class CardFolder(models.Model):
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="folder_links")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="card_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["card", "folder"], name="card_once_per_folder")
        ]

    def __str__(self) -> str:
        return f"card {self.card_id} in folder {self.folder_id}"


class CardVersion(models.Model):
    """A snapshot taken on every save: number, who, when, what changed."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    content = models.TextField(blank=True)
    tags = models.JSONField(default=list)
    folder_ids = models.JSONField(default=list)
    collection_id_at_version = models.BigIntegerField()
    verifier_user_id_at_version = models.BigIntegerField(null=True)
    verifier_group_id_at_version = models.BigIntegerField(null=True)
    verification_interval_days = models.PositiveIntegerField(null=True)
    changed_fields = models.JSONField(default=list)
    note = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["card", "number"], name="one_version_number_per_card")
        ]

    def __str__(self) -> str:
        return f"{self.card_id} v{self.number}"


class Favorite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites"
    )
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="favorited_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "card"], name="favorite_once")]

    def __str__(self) -> str:
        return f"user {self.user_id} ♥ card {self.card_id}"


class Flag(models.Model):
    """Someone reported a card as outdated; open until the card is verified again."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    comment = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"flag on card {self.card_id}: {self.comment[:40]}"


class DuplicatePair(models.Model):
    """Two active cards that look like the same answer, found by the periodic duplicate scan
    (verity.search.duplicates). `card_a` has the smaller id, so each pair is stored once."""

    card_a = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="+")
    card_b = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="+")
    text_similarity = models.FloatField()
    # None when either card has no vector (model off, or not embedded yet).
    meaning_similarity = models.FloatField(null=True)
    score = models.FloatField(db_index=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-score", "card_a_id", "card_b_id"]
        constraints = [
            models.UniqueConstraint(fields=["card_a", "card_b"], name="duplicate_pair_once"),
            models.CheckConstraint(
                condition=models.Q(card_a__lt=models.F("card_b")), name="duplicate_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"cards {self.card_a_id} ≈ {self.card_b_id} ({self.score:.2f})"


class DuplicateDismissal(models.Model):
    """A curator said two cards are not duplicates: the report does not show them again."""

    card_a = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="+")
    card_b = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="+")
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["card_a", "card_b"], name="duplicate_dismissed_once"),
            models.CheckConstraint(
                condition=models.Q(card_a__lt=models.F("card_b")),
                name="duplicate_dismissal_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"cards {self.card_a_id} and {self.card_b_id} are not duplicates"


class DuplicateScan(models.Model):
    """One row: when the duplicate pairs were last computed, so the report can say so."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    finished_at = models.DateTimeField()
    cards = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)
    used_meaning = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"duplicate scan of {self.cards} cards at {self.finished_at:%Y-%m-%d %H:%M}"
