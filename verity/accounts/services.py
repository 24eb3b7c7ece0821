"""Writes for people, groups and API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from verity.accounts import access
from verity.accounts.models import ApiToken, Group, JobFunction, SiteRole, User, hash_token

UNSET: Any = object()


def clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": _("“%(email)s” is not a valid email address.") % {"email": email}}
        ) from None
    return email


def _check_choices(job_function: str | None, site_role: str | None) -> None:
    if job_function is not None and job_function not in JobFunction.values:
        raise ValidationError(
            {
                "job_function": _("Job function must be one of %(choices)s.")
                % {"choices": ", ".join(JobFunction.values)}
            }
        )
    if site_role is not None and site_role not in SiteRole.values:
        raise ValidationError(
            {
                "site_role": _("Site role must be one of %(choices)s.")
                % {"choices": ", ".join(SiteRole.values)}
            }
        )


def _check_manager(user: User | None, manager: User | None) -> None:
    seen = set()
    cursor = manager
    while cursor is not None:
        if user is not None and cursor.pk == user.pk:
            raise ValidationError(
                {"manager": _("A person cannot report to themselves, even indirectly.")}
            )
        if cursor.pk in seen:
            break
        seen.add(cursor.pk)
        cursor = cursor.manager


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    email: str,
    name: str = "",
    password: str | None = None,
    job_function: str = JobFunction.OTHER,
    site_role: str = SiteRole.MEMBER,
    manager: User | None = None,
    hire_date: date | None = None,
    groups: Iterable[Group] = (),
) -> User:
    """`actor` None means the command line (trusted operator)."""
    if actor is not None:
        access.require_site_admin(actor)
    email = clean_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("Someone already uses %(email)s.") % {"email": email}})
    _check_choices(job_function, site_role)
    user = User.objects.create_user(
        email,
        password,
        name=(name or "").strip(),
        job_function=job_function,
        site_role=site_role,
        manager=manager,
        hire_date=hire_date,
        is_staff=site_role == SiteRole.ADMIN,
    )
    user.member_groups.set(list(groups))
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, **changes: Any) -> User:
    access.require(
        actor.is_site_admin or (actor.pk == user.pk and set(changes) <= {"name", "language"})
    )
    if "email" in changes:
        email = clean_email(changes["email"])
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise ValidationError(
                {"email": _("Someone already uses %(email)s.") % {"email": email}}
            )
        user.email = email
    _check_choices(changes.get("job_function"), changes.get("site_role"))
    if "manager" in changes:
        _check_manager(user, changes["manager"])
    for field in (
        "name",
        "job_function",
        "site_role",
        "manager",
        "hire_date",
        "language",
        "is_active",
    ):
        if field in changes:
            setattr(user, field, changes[field])
    if "site_role" in changes:
        user.is_staff = user.site_role == SiteRole.ADMIN
    if "language" in changes and user.language not in ("", "en", "ru"):
        raise ValidationError({"language": _("Language must be en or ru.")})
    user.save()
    access.forget()
    return user


@transaction.atomic
def group_create(*, actor: User, name: str, description: str = "") -> Group:
    access.require_site_admin(actor)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("A group needs a name.")})
    if Group.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            {"name": _("A group named “%(name)s” already exists.") % {"name": name}}
        )
    return Group.objects.create(name=name, description=description or "")


@transaction.atomic
def group_update(
    *, actor: User, group: Group, name: str = UNSET, description: str = UNSET
) -> Group:
    access.require_site_admin(actor)
    if name is not UNSET:
        name = " ".join((name or "").split())
        if not name:
            raise ValidationError({"name": _("A group needs a name.")})
        if Group.objects.filter(name__iexact=name).exclude(pk=group.pk).exists():
            raise ValidationError(
                {"name": _("A group named “%(name)s” already exists.") % {"name": name}}
            )
        group.name = name
    if description is not UNSET:
        group.description = description or ""
    group.save()
    return group


def group_set_member(*, actor: User, group: Group, user: User, member: bool) -> None:
    access.require_site_admin(actor)
    access.forget()
    if member:
        group.members.add(user)
    else:
        group.members.remove(user)


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is shown once and never stored."""
    name = (name or "").strip() or "API token"
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user, name=name[:100], token_hash=hash_token(raw), hint=raw[:10]
    )
    return token, raw


def token_authenticate(raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw.strip())).first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Writing on every request would serialise API reads on SQLite; a minute's precision is enough.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_revoke(*, user: User, token_id: int) -> None:
    deleted, _details = ApiToken.objects.filter(pk=token_id, user=user).delete()
    if not deleted:
        raise ValidationError({"token": _("No such token.")})


# ---------------------------------------------------------------- login throttling


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _slash, period = rate.partition("/")
    units = {"s": 1, "m": 60, "h": 3600}
    number = int(period[:-1] or 1) if period[-1] in units else int(period)
    seconds = number * units.get(period[-1], 1)
    return int(count), seconds


def login_attempt_allowed(email: str, ip: str, rate: str) -> bool:
    """Count failed attempts per email and per IP in the shared cache."""
    limit, _window = _parse_rate(rate)
    for key in (f"login:email:{email.lower()}", f"login:ip:{ip}"):
        if (cache.get(key) or 0) >= limit:
            return False
    return True


def login_attempt_failed(email: str, ip: str, rate: str) -> None:
    _limit, window = _parse_rate(rate)
    for key in (f"login:email:{email.lower()}", f"login:ip:{ip}"):
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, window)


def login_attempts_reset(email: str) -> None:
    cache.delete(f"login:email:{email.lower()}")
