"""Forms for signing in, the profile and the admin pages.

Forms only parse and check input so errors can be shown beside the field; every write goes
through verity.accounts.services or verity.knowledge.services, which stay the authority.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from verity.accounts.models import Group, JobFunction, SiteRole, User
from verity.knowledge.models import AccessRole, Collection

LANGUAGE_CHOICES = [
    ("", _("Browser default")),
    ("en", "English"),
    ("ru", "Русский"),
]

SITE_ROLE_CHOICES = [
    (SiteRole.MEMBER, _("Member")),
    (SiteRole.ADMIN, _("Administrator")),
]


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError beside the field it names, or above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        form.add_error(None, exc)


class _Form(forms.Form):
    def _model_field(self, name: str) -> forms.ModelChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        return field


def _squash(value: str) -> str:
    return " ".join((value or "").split())


# ---------------------------------------------------------------- signing in and profile


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class ProfileForm(forms.Form):
    name = forms.CharField(
        label=pgettext_lazy("person", "Name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=LANGUAGE_CHOICES,
        required=False,
        help_text=_("“Browser default” follows your browser's language setting."),
    )

    def clean_name(self) -> str:
        return _squash(self.cleaned_data["name"])


class TokenCreateForm(forms.Form):
    # Its own ids: the profile form on the same page also has a "name" field.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_token_%s")
        super().__init__(*args, **kwargs)

    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("Say where it is used, e.g. “CRM sync” or “laptop scripts”."),
    )

    def clean_name(self) -> str:
        name = _squash(self.cleaned_data["name"])
        if not name:
            raise ValidationError(_("Give the token a name."))
        return name


# ---------------------------------------------------------------- admin: people


class UserFilterForm(forms.Form):
    # Not "q": the top bar's card search echoes ?q= back into its own box.
    find = forms.CharField(label=_("Find people"), required=False, max_length=200)
    job_function = forms.ChoiceField(
        label=_("Job function"),
        required=False,
        choices=[("", _("All job functions")), *JobFunction.choices],
    )
    group = forms.ModelChoiceField(
        label=_("Group"),
        required=False,
        queryset=Group.objects.all(),
        empty_label=_("All groups"),
    )

    def filter(self, users: QuerySet[User]) -> QuerySet[User]:
        if not self.is_valid():
            return users
        data = self.cleaned_data
        query = _squash(data.get("find") or "")
        if query:
            users = users.filter(Q(name__icontains=query) | Q(email__icontains=query))
        if data.get("job_function"):
            users = users.filter(job_function=data["job_function"])
        if data.get("group"):
            users = users.filter(member_groups=data["group"])
        return users


class UserForm(_Form):
    """Create (with an optional password) or edit a person."""

    email = forms.EmailField(label=_("Email"), max_length=254)
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=150, required=False)
    job_function = forms.ChoiceField(
        label=_("Job function"), choices=JobFunction.choices, initial=JobFunction.OTHER
    )
    manager = forms.ModelChoiceField(
        label=_("Manager"),
        required=False,
        queryset=User.objects.filter(is_active=True),
        empty_label=_("No manager"),
    )
    hire_date = forms.DateField(
        label=_("Hire date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Used to measure time to ramp."),
    )
    site_role = forms.ChoiceField(
        label=_("Site role"),
        # Own labels: the model's "Admin" shares its translation with the navigation's "Admin".
        choices=SITE_ROLE_CHOICES,
        initial=SiteRole.MEMBER,
        help_text=_("Admins manage people, groups and collection access."),
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Inactive people cannot sign in or use API tokens."),
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("Groups"),
        required=False,
        queryset=Group.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Without one, the person cannot sign in until a password is set."),
    )

    def __init__(self, *args: Any, actor: User, instance: User | None = None, **kwargs: Any):
        self.actor = actor
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "email": instance.email,
                "name": instance.name,
                "job_function": instance.job_function,
                "manager": instance.manager_id,
                "hire_date": instance.hire_date,
                "site_role": instance.site_role,
                "is_active": instance.is_active,
                "groups": list(instance.member_groups.values_list("pk", flat=True)),
            }
        super().__init__(*args, **kwargs)
        if instance is not None:
            del self.fields["password"]
            self._model_field("manager").queryset = User.objects.filter(is_active=True).exclude(
                pk=instance.pk
            )

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        others = User.objects.filter(email__iexact=email)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("Someone already uses this email address."))
        return email

    def clean_name(self) -> str:
        return _squash(self.cleaned_data["name"])

    def clean_manager(self) -> User | None:
        manager: User | None = self.cleaned_data.get("manager")
        # The service refuses cycles too; checking here says so beside the field, translated.
        seen: set[int] = set()
        cursor = manager
        while cursor is not None and cursor.pk not in seen:
            if self.instance is not None and cursor.pk == self.instance.pk:
                raise ValidationError(_("A person cannot report to themselves, even indirectly."))
            seen.add(cursor.pk)
            cursor = cursor.manager
        return manager

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            password_validation.validate_password(password)
        return password

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        editing_self = self.instance is not None and self.instance.pk == self.actor.pk
        if editing_self and data.get("site_role") and data["site_role"] != SiteRole.ADMIN:
            self.add_error("site_role", _("You cannot remove your own admin role."))
        if editing_self and "is_active" in data and not data["is_active"]:
            self.add_error("is_active", _("You cannot deactivate yourself."))
        return data


# ---------------------------------------------------------------- admin: groups


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def __init__(self, *args: Any, instance: Group | None = None, **kwargs: Any):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "description": instance.description}
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = _squash(self.cleaned_data["name"])
        if not name:
            raise ValidationError(_("A group needs a name."))
        others = Group.objects.filter(name__iexact=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("A group with this name already exists."))
        return name


class GroupMemberForm(_Form):
    user = forms.ModelChoiceField(
        label=_("Person"), queryset=User.objects.none(), empty_label=_("Choose a person")
    )

    def __init__(self, *args: Any, group: Group, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._model_field("user").queryset = User.objects.filter(is_active=True).exclude(
            member_groups=group
        )


# ---------------------------------------------------------------- admin: collections


class CollectionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_name(self) -> str:
        name = _squash(self.cleaned_data["name"])
        if not name:
            raise ValidationError(_("A collection needs a name."))
        if Collection.objects.filter(name__iexact=name).exists():
            raise ValidationError(_("A collection with this name already exists."))
        return name


class GrantForm(_Form):
    """Give a group a role on a collection; an empty role (rows only) removes its access."""

    group = forms.ModelChoiceField(
        label=_("Group"), queryset=Group.objects.all(), empty_label=_("Choose a group")
    )
    role = forms.ChoiceField(
        label=_("Role"),
        required=False,
        choices=[*AccessRole.choices, ("", _("No access"))],
        initial=AccessRole.READ,
    )

    def __init__(self, *args: Any, collection: Collection, adding: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if adding:
            # Adding offers only groups without a grant yet, and a real role.
            self._model_field("group").queryset = Group.objects.exclude(
                collection_access__collection=collection
            )
            role = self.fields["role"]
            assert isinstance(role, forms.ChoiceField)
            role.choices = AccessRole.choices
            role.required = True
