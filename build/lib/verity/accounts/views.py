"""Signing in and out, the profile with API tokens, and the admin pages.

Views parse, check access (verity.accounts.access), call a service and render; one view and
one template serve both the full page and the htmx fragment.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from verity.accounts import access, services
from verity.accounts.forms import (
    CollectionForm,
    GrantForm,
    GroupForm,
    GroupMemberForm,
    LoginForm,
    ProfileForm,
    TokenCreateForm,
    UserFilterForm,
    UserForm,
    add_service_errors,
)
from verity.accounts.models import Group, User
from verity.knowledge import services as knowledge_services
from verity.knowledge.models import AccessRole, CollectionAccess

View = Callable[..., HttpResponse]


class AuthedRequest(HttpRequest):
    """What the views behind login_required see (typing only)."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails


def _home_url() -> str:
    try:
        return reverse(settings.LOGIN_REDIRECT_URL)
    except NoReverseMatch:
        return reverse("profile")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return _home_url()


def client_ip(request: HttpRequest) -> str:
    """The address that login throttling counts.

    Behind the HTTPS proxy that settings trust, every request comes from the proxy, so the
    address the proxy appended last to X-Forwarded-For is the client's; directly exposed,
    that header is forgeable and ignored.
    """
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _invalid_status(request: AuthedRequest) -> int:
    """400 for a page with form errors; htmx swaps only 2xx, so its fragments get 200."""
    return 200 if request.htmx else 400


def site_admin_required(view: View) -> View:
    """Signed-out people go to the login page; signed-in non-admins get 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access.require_site_admin(request.user)
        return view(request, *args, **kwargs)

    return wrapper


# ---------------------------------------------------------------- signing in and out


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email, ip = form.cleaned_data["email"], client_ip(request)
        rate = settings.VERITY_LOGIN_RATE
        if not services.login_attempt_allowed(email, ip, rate):
            # The same answer whether or not the address belongs to anyone.
            form.add_error(
                None,
                _("Too many sign-in attempts. Please wait a few minutes and try again."),
            )
            status = 429
        else:
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if user is None:
                services.login_attempt_failed(email, ip, rate)
                form.add_error(None, _("That email and password do not match. Try again."))
                # The email is kept; the cursor goes where the retyping happens.
                form.fields["email"].widget.attrs.pop("autofocus", None)
                form.fields["password"].widget.attrs["autofocus"] = True
            else:
                services.login_attempts_reset(email)
                login(request, user)
                return HttpResponseRedirect(_safe_next(request))
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "accounts/login.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


# ---------------------------------------------------------------- profile and API tokens


def _render_profile(request: AuthedRequest, status: int = 200, **forms: Any) -> HttpResponse:
    user = request.user
    password_form = forms.get("password_form") or PasswordChangeForm(user)
    # Django autofocuses the old password, which would scroll the profile to the middle.
    password_form.fields["old_password"].widget.attrs.pop("autofocus", None)
    context = {
        "profile_form": forms.get("profile_form")
        or ProfileForm(initial={"name": user.name, "language": user.language}),
        "password_form": password_form,
        "token_form": forms.get("token_form") or TokenCreateForm(),
        "tokens": user.api_tokens.all(),
        "new_token": forms.get("new_token"),
    }
    template = "accounts/_tokens.html" if forms.get("tokens_only") else "accounts/profile.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: AuthedRequest) -> HttpResponse:
    if request.method == "GET":
        return _render_profile(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            services.user_update(actor=request.user, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Say it in the language just chosen, which the next page will use.
            with translation.override(form.cleaned_data["language"] or translation.get_language()):
                messages.success(request, _("Your profile is saved."))
            return redirect("profile")
    return _render_profile(request, status=400, profile_form=form)


@login_required
@require_POST
def password_change(request: AuthedRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST)
    if form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)  # stay signed in on this device
        messages.success(request, _("Your password is changed."))
        return redirect("profile")
    return _render_profile(request, status=400, password_form=form)


@login_required
@require_POST
def token_create(request: AuthedRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _render_profile(
            request, status=_invalid_status(request), token_form=form, tokens_only=request.htmx
        )
    token, raw = services.token_create(user=request.user, name=form.cleaned_data["name"])
    # Rendered straight into this response, never stored: the raw token is shown once.
    response = _render_profile(
        request, new_token={"token": token, "raw": raw}, tokens_only=request.htmx
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    try:
        services.token_revoke(user=request.user, token_id=token_id)
    except ValidationError:
        raise Http404("No such token") from None
    if request.htmx:
        return _render_profile(request, tokens_only=True)
    messages.success(request, _("The token is revoked; it no longer works."))
    return redirect(reverse("profile") + "#tokens")


# ---------------------------------------------------------------- admin: people


@site_admin_required
def admin_home(request: AuthedRequest) -> HttpResponse:
    return redirect("admin_users")


@site_admin_required
def admin_users(request: AuthedRequest) -> HttpResponse:
    filters = UserFilterForm(request.GET or None)
    users = filters.filter(
        User.objects.select_related("manager").prefetch_related("member_groups")
    ).order_by("name", "email")
    page = Paginator(users, settings.VERITY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "filtered": filters.is_bound and filters.is_valid() and any(filters.cleaned_data.values()),
        "query": query.urlencode(),
    }
    template = "admin_pages/_user_rows.html" if request.htmx else "admin_pages/users.html"
    return render(request, template, context)


@site_admin_required
@require_http_methods(["GET", "POST"])
def admin_user_create(request: AuthedRequest) -> HttpResponse:
    form = UserForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                user = services.user_create(
                    actor=request.user,
                    email=data["email"],
                    name=data["name"],
                    password=data["password"] or None,
                    job_function=data["job_function"],
                    site_role=data["site_role"],
                    manager=data["manager"],
                    hire_date=data["hire_date"],
                    groups=data["groups"],
                )
                if not data["is_active"]:
                    services.user_update(actor=request.user, user=user, is_active=False)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is added.") % {"name": user.display_name})
            return redirect("admin_users")
    status = 400 if form.is_bound else 200
    return render(request, "admin_pages/user_form.html", {"form": form}, status=status)


def _render_user_edit(
    request: AuthedRequest,
    person: User,
    status: int = 200,
    form: UserForm | None = None,
    password_form: SetPasswordForm | None = None,
) -> HttpResponse:
    context = {
        "form": form or UserForm(actor=request.user, instance=person),
        "password_form": password_form or SetPasswordForm(person),
        "person": person,
    }
    return render(request, "admin_pages/user_form.html", context, status=status)


@site_admin_required
@require_http_methods(["GET", "POST"])
def admin_user_edit(request: AuthedRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    if request.method == "GET":
        return _render_user_edit(request, person)
    form = UserForm(request.POST, actor=request.user, instance=person)
    if form.is_valid():
        data = form.cleaned_data
        wanted_groups = set(data.pop("groups"))
        try:
            with transaction.atomic():
                services.user_update(actor=request.user, user=person, **data)
                current = set(person.member_groups.all())
                for group in wanted_groups ^ current:
                    services.group_set_member(
                        actor=request.user, group=group, user=person, member=group in wanted_groups
                    )
        except ValidationError as exc:
            add_service_errors(form, exc)
            person.refresh_from_db()
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": person.display_name})
            return redirect("admin_users")
    return _render_user_edit(request, person, status=400, form=form)


@site_admin_required
@require_POST
def admin_user_password(request: AuthedRequest, user_id: int) -> HttpResponse:
    """Set someone's password (people who forgot theirs ask an admin)."""
    person = get_object_or_404(User, pk=user_id)
    password_form = SetPasswordForm(person, request.POST)
    if not password_form.is_valid():
        return _render_user_edit(request, person, status=400, password_form=password_form)
    password_form.save()
    if person.pk == request.user.pk:
        update_session_auth_hash(request, person)
    messages.success(request, _("%(name)s has a new password.") % {"name": person.display_name})
    return redirect("admin_user_edit", user_id=person.pk)


# ---------------------------------------------------------------- admin: groups


@site_admin_required
@require_http_methods(["GET", "POST"])
def admin_groups(request: AuthedRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Group “%(name)s” is created.") % {"name": group.name})
            return redirect("admin_group_detail", group_id=group.pk)
    groups = Group.objects.annotate(
        member_count=Count("members", distinct=True),
        collection_count=Count("collection_access", distinct=True),
    )
    status = 400 if form.is_bound else 200
    return render(
        request, "admin_pages/groups.html", {"form": form, "groups": groups}, status=status
    )


def _render_group(
    request: AuthedRequest, group: Group, status: int = 200, **forms: Any
) -> HttpResponse:
    context = {
        "group": group,
        "form": forms.get("form") or GroupForm(instance=group),
        "member_form": forms.get("member_form") or GroupMemberForm(group=group),
        "members": group.members.select_related("manager").order_by("name", "email"),
        "grants": group.collection_access.select_related("collection").order_by("collection__name"),
        "note": forms.get("note", ""),
    }
    template = "admin_pages/_group_members.html" if request.htmx else "admin_pages/group.html"
    return render(request, template, context, status=status)


@site_admin_required
@require_http_methods(["GET", "POST"])
def admin_group_detail(request: AuthedRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=group_id)
    if request.method == "GET":
        return _render_group(request, group)
    form = GroupForm(request.POST, instance=group)
    if form.is_valid():
        try:
            services.group_update(actor=request.user, group=group, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Group “%(name)s” is saved.") % {"name": group.name})
            return redirect("admin_group_detail", group_id=group.pk)
    group.refresh_from_db()
    return _render_group(request, group, status=400, form=form)


@site_admin_required
@require_POST
def admin_group_members(request: AuthedRequest, group_id: int) -> HttpResponse:
    """Add (`user`) or remove (`remove`) a member; htmx swaps the members section."""
    group = get_object_or_404(Group, pk=group_id)
    if "remove" in request.POST:
        person = get_object_or_404(User, pk=request.POST["remove"], member_groups=group)
        services.group_set_member(actor=request.user, group=group, user=person, member=False)
        note = _("%(name)s is no longer in the group.") % {"name": person.display_name}
    else:
        member_form = GroupMemberForm(request.POST, group=group)
        if not member_form.is_valid():
            return _render_group(
                request, group, status=_invalid_status(request), member_form=member_form
            )
        person = member_form.cleaned_data["user"]
        services.group_set_member(actor=request.user, group=group, user=person, member=True)
        note = _("%(name)s is added to the group.") % {"name": person.display_name}
    if request.htmx:
        return _render_group(request, group, note=note)
    messages.success(request, note)
    return redirect("admin_group_detail", group_id=group.pk)


# ---------------------------------------------------------------- admin: collections


@site_admin_required
@require_http_methods(["GET", "POST"])
def admin_collections(request: AuthedRequest) -> HttpResponse:
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collection = knowledge_services.collection_create(
                user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Collection “%(name)s” is created. Now choose which groups can use it.")
                % {"name": collection.name},
            )
            return redirect("admin_collection_access", collection_id=collection.pk)
    grants = CollectionAccess.objects.select_related("group").order_by("group__name")
    collections = (
        access.collections_for(request.user)
        .annotate(card_count=Count("cards", filter=Q(cards__archived_at__isnull=True)))
        .prefetch_related(Prefetch("access", queryset=grants))
        .order_by("name")
    )
    status = 400 if form.is_bound else 200
    context = {"form": form, "collections": collections}
    return render(request, "admin_pages/collections.html", context, status=status)


@site_admin_required
@require_http_methods(["GET", "POST"])
def admin_collection_access(request: AuthedRequest, collection_id: int) -> HttpResponse:
    collection = access.get_collection_for(request.user, role=AccessRole.CURATE, pk=collection_id)
    add_form = GrantForm(collection=collection)
    status, note = 200, ""
    if request.method == "POST":
        adding = request.POST.get("action") == "add"
        form = GrantForm(request.POST, collection=collection, adding=adding)
        if form.is_valid():
            group, role = form.cleaned_data["group"], form.cleaned_data["role"] or None
            try:
                knowledge_services.collection_grant(
                    user=request.user, collection=collection, group=group, role=role
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if role is None:
                    note = _("%(group)s no longer has access.") % {"group": group.name}
                else:
                    note = _("%(group)s now has the “%(role)s” role.") % {
                        "group": group.name,
                        "role": AccessRole(role).label,
                    }
                if not request.htmx:
                    messages.success(request, note)
                    return redirect("admin_collection_access", collection_id=collection.pk)
                add_form = GrantForm(collection=collection)
        if form.errors:
            status = _invalid_status(request)
            if adding:
                add_form = form
            else:
                note = " ".join(str(e) for errors in form.errors.values() for e in errors)
    grants = (
        collection.access.select_related("group")
        .annotate(member_count=Count("group__members"))
        .order_by("group__name")
    )
    context = {
        "collection": collection,
        "grants": grants,
        "add_form": add_form,
        "roles": AccessRole.choices,
        "note": note,
    }
    template = (
        "admin_pages/_collection_grants.html"
        if request.htmx
        else "admin_pages/collection_access.html"
    )
    return render(request, template, context, status=status)
