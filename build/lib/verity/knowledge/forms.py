"""Forms for the knowledge pages: they parse and show errors; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from verity.accounts.models import Group, User
from verity.knowledge.models import VERIFICATION_INTERVALS, Collection, Folder

NEVER = "never"


def interval_choices() -> list[tuple[str, str]]:
    labels = {
        7: _("Every week (7 days)"),
        30: _("Every month (30 days)"),
        90: _("Every quarter (90 days)"),
        180: _("Every six months (180 days)"),
        365: _("Every year (365 days)"),
    }
    return [(str(d), str(labels.get(d, d))) for d in VERIFICATION_INTERVALS] + [
        (NEVER, str(_("Never expires")))
    ]


def parse_interval(value: str) -> int | None:
    return None if value in ("", NEVER) else int(value)


def interval_value(days: int | None) -> str:
    return NEVER if days is None else str(days)


def verifier_choices(users: list[User], groups: list[Group]) -> list[Any]:
    return [
        (_("People"), [(f"user:{u.pk}", u.display_name) for u in users]),
        (_("Groups"), [(f"group:{g.pk}", g.name) for g in groups]),
    ]


def verifier_value(user: User | None, group: Group | None) -> str:
    if user is not None:
        return f"user:{user.pk}"
    if group is not None:
        return f"group:{group.pk}"
    return ""


def parse_verifier(value: str) -> tuple[User | None, Group | None]:
    kind, _sep, pk = (value or "").partition(":")
    if kind == "user" and pk.isdigit():
        user = User.objects.filter(pk=int(pk), is_active=True).first()
        if user is not None:
            return user, None
    if kind == "group" and pk.isdigit():
        group = Group.objects.filter(pk=int(pk)).first()
        if group is not None:
            return None, group
    raise ValidationError(_("Choose a person or a group."))


class CardForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    content = forms.CharField(
        label=_("Body (Markdown)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "true"}),
    )
    collection = forms.ModelChoiceField(label=_("Collection"), queryset=Collection.objects.none())
    folders = forms.MultipleChoiceField(
        label=_("Folders"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Optional. Only folders of the chosen collection."),
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Comma-separated, e.g. pricing, discounts"),
    )
    verifier = forms.ChoiceField(
        label=_("Verifier"), help_text=_("The person or group who confirms this card is right.")
    )
    interval = forms.ChoiceField(label=_("Verification interval"), initial="90")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        collections: Any,
        folders: list[Folder],
        users: list[User],
        groups: list[Group],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = collections  # type: ignore[attr-defined]
        by_collection: dict[str, list[tuple[str, str]]] = {}
        by_id = {f.pk: f for f in folders}
        for folder in folders:
            by_collection.setdefault(folder.collection.name, []).append(
                (str(folder.pk), folder_label(folder, by_id))
            )
        self.fields["folders"].choices = [  # type: ignore[attr-defined]
            (name, sorted(options, key=lambda o: o[1].casefold()))
            for name, options in by_collection.items()
        ]
        self.folder_collection = {str(f.pk): f.collection_id for f in folders}
        self.fields["verifier"].choices = [("", "—"), *verifier_choices(users, groups)]  # type: ignore[attr-defined]
        self.fields["interval"].choices = interval_choices()  # type: ignore[attr-defined]

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]

    def clean_verifier(self) -> tuple[User | None, Group | None]:
        return parse_verifier(self.cleaned_data["verifier"])

    def clean_interval(self) -> int | None:
        return parse_interval(self.cleaned_data["interval"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        collection = data.get("collection")
        if collection is not None:
            wrong = [
                f for f in data.get("folders", []) if self.folder_collection.get(f) != collection.pk
            ]
            if wrong:
                self.add_error("folders", _("Choose folders of the card's own collection."))
        return data


def folder_label(folder: Folder, by_id: dict[int, Folder]) -> str:
    """'Parent / Child' without a query per level: parents are looked up in `by_id`."""
    names = [folder.name]
    parent = by_id.get(folder.parent_id) if folder.parent_id else None
    while parent is not None and len(names) < 20:
        names.insert(0, parent.name)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return " / ".join(names)


class FlagForm(forms.Form):
    comment = forms.CharField(
        label=_("What is outdated or wrong?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class FolderNameForm(forms.Form):
    name = forms.CharField(label=_("Folder name"), max_length=120)


BULK_ACTIONS = [
    ("verify", _("Verify")),
    ("set_verifier", _("Change verifier")),
    ("set_interval", _("Change interval")),
]


class BulkForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), choices=BULK_ACTIONS)
    verifier = forms.ChoiceField(label=_("New verifier"), required=False)
    interval = forms.ChoiceField(label=_("New interval"), required=False)

    def __init__(self, *args: Any, users: list[User], groups: list[Group], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["verifier"].choices = [("", "—"), *verifier_choices(users, groups)]  # type: ignore[attr-defined]
        self.fields["interval"].choices = [("", "—"), *interval_choices()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "set_verifier":
            try:
                data["verifier_pair"] = parse_verifier(data.get("verifier", ""))
            except ValidationError as error:
                self.add_error("verifier", error)
        if action == "set_interval":
            if not data.get("interval"):
                self.add_error("interval", _("Choose an interval."))
            else:
                data["interval_days"] = parse_interval(data["interval"])
        return data
