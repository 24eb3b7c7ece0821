"""People and groups over the JSON API. Anyone signed in may list them (to pick a verifier
or a manager); only site admins change them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status

from verity.accounts import access, services
from verity.accounts.models import ApiToken, Group, User
from verity.accounts.schemas import (
    AuthedRequest,
    Error,
    GroupCreate,
    GroupOut,
    GroupPage,
    GroupPatch,
    Id,
    JobFunctionName,
    MeOut,
    Ok,
    PageParams,
    Text,
    TokenCreate,
    TokenCreated,
    TokenPage,
    UserCreate,
    UserOut,
    UserPage,
    UserPatch,
    paginate,
)

router = Router(tags=["people"])

ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error}


def _user_or_422(user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationError({field: _("No person with id %(id)s.") % {"id": user_id}})
    return user


def _groups_with_counts() -> QuerySet[Group]:
    return Group.objects.annotate(member_count=Count("members"))


# ---------------------------------------------------------------- me


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The signed-in person")
def me(request: AuthedRequest) -> Any:
    return User.objects.prefetch_related("member_groups").get(pk=request.auth.pk)


@router.get("/me/tokens", response={200: TokenPage, **ERRORS}, summary="My API tokens")
def token_list(request: AuthedRequest, page: Query[PageParams]) -> Any:
    return paginate(ApiToken.objects.filter(user=request.auth).order_by("-created_at", "-pk"), page)


@router.post(
    "/me/tokens",
    response={201: TokenCreated, **ERRORS},
    summary="Create an API token for myself (the token is in this answer only)",
)
def token_create(request: AuthedRequest, payload: TokenCreate) -> Any:
    token, raw = services.token_create(user=request.auth, name=payload.name)
    token.token = raw  # type: ignore[attr-defined]
    return Status(201, token)


@router.delete("/me/tokens/{token_id}", response={200: Ok, **ERRORS}, summary="Revoke my token")
def token_revoke(request: AuthedRequest, token_id: Id) -> Any:
    if not ApiToken.objects.filter(pk=token_id, user=request.auth).exists():
        raise Http404
    services.token_revoke(user=request.auth, token_id=token_id)
    return {"ok": True}


# ---------------------------------------------------------------- users


@router.get("/users", response={200: UserPage, **ERRORS}, summary="List people")
def user_list(
    request: AuthedRequest,
    page: Query[PageParams],
    q: Text | None = None,
    job_function: JobFunctionName | None = None,
) -> Any:
    users = User.objects.order_by("name", "email", "pk")
    if q:
        users = users.filter(email__icontains=q) | users.filter(name__icontains=q)
    if job_function:
        users = users.filter(job_function=job_function)
    return paginate(users, page)


@router.get("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="One person")
def user_detail(request: AuthedRequest, user_id: Id) -> Any:
    return get_object_or_404(User, pk=user_id)


@router.post("/users", response={201: UserOut, **ERRORS}, summary="Add a person (admins)")
def user_create(request: AuthedRequest, payload: UserCreate) -> Any:
    access.require_site_admin(request.auth)
    manager = _user_or_422(payload.manager, "manager")
    groups = list(Group.objects.filter(pk__in=payload.groups))
    if len(groups) != len(set(payload.groups)):
        raise ValidationError({"groups": _("Some of these groups do not exist.")})
    if payload.password:
        try:
            validate_password(payload.password)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
    user = services.user_create(
        actor=request.auth,
        email=payload.email,
        name=payload.name,
        password=payload.password or None,
        job_function=payload.job_function,
        site_role=payload.site_role,
        manager=manager,
        hire_date=payload.hire_date,
        groups=groups,
    )
    return Status(201, user)


@router.patch("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="Change a person")
def user_update(request: AuthedRequest, user_id: Id, payload: UserPatch) -> Any:
    access.require_site_admin(request.auth)
    user = get_object_or_404(User, pk=user_id)
    changes = payload.model_dump(exclude_unset=True)
    if "manager" in changes:
        changes["manager"] = _user_or_422(changes["manager"], "manager")
    return services.user_update(actor=request.auth, user=user, **changes)


# ---------------------------------------------------------------- groups


@router.get("/groups", response={200: GroupPage, **ERRORS}, summary="List groups")
def group_list(request: AuthedRequest, page: Query[PageParams]) -> Any:
    return paginate(_groups_with_counts().order_by("name", "pk"), page)


@router.get("/groups/{group_id}", response={200: GroupOut, **ERRORS}, summary="One group")
def group_detail(request: AuthedRequest, group_id: Id) -> Any:
    return get_object_or_404(_groups_with_counts(), pk=group_id)


@router.post("/groups", response={201: GroupOut, **ERRORS}, summary="Create a group (admins)")
def group_create(request: AuthedRequest, payload: GroupCreate) -> Any:
    group = services.group_create(
        actor=request.auth,
        name=payload.name,
        description=payload.description,
    )
    return Status(201, _groups_with_counts().get(pk=group.pk))


@router.patch("/groups/{group_id}", response={200: GroupOut, **ERRORS}, summary="Rename a group")
def group_update(request: AuthedRequest, group_id: Id, payload: GroupPatch) -> Any:
    access.require_site_admin(request.auth)
    group = get_object_or_404(Group, pk=group_id)
    services.group_update(actor=request.auth, group=group, **payload.model_dump(exclude_unset=True))
    return _groups_with_counts().get(pk=group.pk)


@router.get(
    "/groups/{group_id}/members", response={200: UserPage, **ERRORS}, summary="Members of a group"
)
def group_members(request: AuthedRequest, group_id: Id, page: Query[PageParams]) -> Any:
    group = get_object_or_404(Group, pk=group_id)
    return paginate(group.members.order_by("name", "email", "pk"), page)


def _member_change(request: AuthedRequest, group_id: int, user_id: int, member: bool) -> None:
    access.require_site_admin(request.auth)
    group = get_object_or_404(Group, pk=group_id)
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404
    services.group_set_member(actor=request.auth, group=group, user=user, member=member)


@router.put(
    "/groups/{group_id}/members/{user_id}",
    response={200: Ok, **ERRORS},
    summary="Add a person to a group (admins)",
)
def group_member_add(request: AuthedRequest, group_id: Id, user_id: Id) -> Any:
    _member_change(request, group_id, user_id, member=True)
    return {"ok": True}


@router.delete(
    "/groups/{group_id}/members/{user_id}",
    response={200: Ok, **ERRORS},
    summary="Remove a person from a group (admins)",
)
def group_member_remove(request: AuthedRequest, group_id: Id, user_id: Id) -> Any:
    _member_change(request, group_id, user_id, member=False)
    return {"ok": True}
