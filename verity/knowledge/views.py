"""HTML pages for the knowledge base. Views parse, check access (verity.accounts.access),
call a service or selector, and render; htmx requests get the fragment they swap."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from verity.accounts import access
from verity.accounts.models import User
from verity.knowledge import selectors, services
from verity.knowledge.forms import (
    BulkForm,
    CardForm,
    FlagForm,
    FolderNameForm,
    interval_value,
    verifier_value,
)
from verity.knowledge.models import AccessRole, Card, Collection, Folder, VerificationState
from verity.learning.selectors import programs_using_card
from verity.lib.markdown import render_markdown
from verity.search import analytics


class AuthedRequest(HttpRequest):
    """What login_required and the htmx middleware guarantee on every request here."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails


PAGE_SIZE = 50
# Service error keys → form field names.
FIELD_FOR_ERROR = {"verification_interval_days": "interval"}


def _page(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def _next_or(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


def _add_service_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for key, errors in error.message_dict.items():
            field = FIELD_FOR_ERROR.get(key, key)
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# ---------------------------------------------------------------- home


@login_required
@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    queue = selectors.verification_queue(user)
    by_collection = selectors.trust_by_collection(user)
    context = {
        "queue": list(queue[:5]),
        "queue_total": queue.count(),
        "recent": selectors.recently_updated(user),
        "favourites": list(selectors.favourite_cards(user, limit=10)),
        "overall": selectors.trust_score(access.cards_for(user)),
        "by_collection": by_collection,
        "can_author": access.collections_for(user, AccessRole.AUTHOR).exists(),
    }
    return render(request, "knowledge/home.html", context)


# ---------------------------------------------------------------- card page


def _card_context(request: AuthedRequest, card: Card) -> dict[str, Any]:
    user = request.user
    role = access.collection_role(user, card.collection)
    can_author = role in (AccessRole.AUTHOR, AccessRole.CURATE)
    return {
        "card": card,
        "folders": list(card.folders.order_by("name")),
        "tags": list(card.tags.all()),
        # Verifying resolves every flag, so only a card waiting for verification has open ones.
        "flags": (
            list(selectors.open_flags(card))
            if card.verification_state != VerificationState.VERIFIED
            else []
        ),
        "is_favourite": selectors.is_favourite(user, card),
        "can_verify": card.archived_at is None and access.can_verify(user, card),
        "can_author": can_author,
        "flag_form": FlagForm(),
    }


@login_required
@require_GET
def card_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk)
    if card.merged_into_id is not None:
        # Old links and bookmarks of a merged card lead to the card it was merged into,
        # when the reader may see that one; otherwise they still see the archived card.
        kept = access.cards_for(request.user).filter(pk=card.merged_into_id).first()
        if kept is not None:
            messages.info(
                request,
                _("“%(old)s” was merged into this card.") % {"old": card.title},
            )
            return redirect("card_detail", pk=kept.pk)
    context = _card_context(request, card)
    context["flag_open"] = request.GET.get("flag") == "1"  # the dialog without JavaScript
    return render(request, "knowledge/card_detail.html", context)


def _card_status(request: AuthedRequest, card: Card, **extra: Any) -> HttpResponse:
    context = _card_context(request, card)
    context.update(extra)
    return render(request, "knowledge/_card_status.html", context)


@login_required
@require_POST
def card_verify(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk)
    try:
        card = services.card_verify(user=request.user, card=card)
    except ValidationError as error:
        if request.htmx:
            return HttpResponse(_error_text(error), status=422)
        messages.error(request, _error_text(error))
        return _next_or(request, reverse("card_detail", args=[card.pk]))
    if request.htmx:
        card = access.get_card_for(request.user, pk)  # fresh, with the verifier joined
        if request.POST.get("context") == "row":
            return render(
                request, "knowledge/_queue_row.html", {"card": card, "just_verified": True}
            )
        return _card_status(request, card)
    messages.success(request, _("Verified. Thank you for keeping “%s” current.") % card.title)
    return _next_or(request, reverse("card_detail", args=[card.pk]))


@login_required
@require_POST
def card_flag(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk, include_archived=False)
    form = FlagForm(request.POST)
    flagged = False
    if form.is_valid():
        try:
            services.card_flag(user=request.user, card=card, comment=form.cleaned_data["comment"])
            flagged = True
        except ValidationError as error:
            _add_service_errors(form, error)
    if request.htmx:
        card = access.get_card_for(request.user, pk)
        context = _card_context(request, card)
        context.update({"flag_form": FlagForm() if flagged else form, "flagged": flagged})
        return render(request, "knowledge/_flag_response.html", context)
    if flagged:
        messages.success(request, _("Thanks. The verifier has been told the card is outdated."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("card_detail", pk=card.pk)


@login_required
@require_POST
def card_favourite(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk)
    on = services.favorite_set(user=request.user, card=card, on=request.POST.get("on") == "1")
    if request.htmx:
        return render(
            request, "knowledge/_favourite_button.html", {"card": card, "is_favourite": on}
        )
    return redirect("card_detail", pk=card.pk)


@login_required
@require_POST
def card_archive(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk, role=AccessRole.AUTHOR)
    if request.POST.get("confirm") != "1" and card.archived_at is None:
        # Archiving a card that training uses breaks those steps: warn the curator first.
        programs = list(programs_using_card(card))
        if programs:
            for program in programs:
                program.can_open = access.can_manage_program(request.user, program)  # type: ignore[attr-defined]
            context = {"card": card, "programs": programs, "next": request.POST.get("next", "")}
            return render(request, "learning/builder/card_archive_confirm.html", context)
    services.card_archive(user=request.user, card=card)
    messages.success(
        request, _("Archived. It no longer shows in lists or search; you can restore it.")
    )
    return _next_or(request, reverse("card_detail", args=[card.pk]))


@login_required
@require_POST
def card_unarchive(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk, role=AccessRole.AUTHOR)
    services.card_unarchive(user=request.user, card=card)
    messages.success(request, _("Restored. The card is back in lists and search."))
    return _next_or(request, reverse("card_detail", args=[card.pk]))


# ---------------------------------------------------------------- create and edit


def _card_form(
    request: AuthedRequest, data: Any = None, initial: dict[str, Any] | None = None
) -> CardForm:
    collections = access.collections_for(request.user, AccessRole.AUTHOR)
    folders = list(
        access.folders_for(request.user, AccessRole.AUTHOR)
        .select_related("collection")
        .order_by("collection__name", "position", "name")
    )
    users, groups = selectors.verifier_choices()
    return CardForm(
        data,
        initial=initial,
        collections=collections,
        folders=folders,
        users=users,
        groups=groups,
    )


def _verifier_args(form: CardForm) -> dict[str, Any]:
    verifier_user, verifier_group = form.cleaned_data["verifier"]
    return {"verifier_user": verifier_user, "verifier_group": verifier_group}


@login_required
def card_create(request: AuthedRequest) -> HttpResponse:
    access.require(access.collections_for(request.user, AccessRole.AUTHOR).exists())
    if request.method == "POST":
        form = _card_form(request, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                card = services.card_create(
                    user=request.user,
                    collection=data["collection"],
                    title=data["title"],
                    content=data["content"],
                    tags=data["tags"],
                    folder_ids=[int(f) for f in data["folders"]],
                    verification_interval_days=data["interval"],
                    **_verifier_args(form),
                )
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                # Written from a knowledge request (?request=): that request is now answered.
                analytics.request_answered(request_id=request.GET.get("request"), card=card)
                messages.success(
                    request, _("Card created. Its verifier will be asked to verify it.")
                )
                return redirect("card_detail", pk=card.pk)
    else:
        initial: dict[str, Any] = {"verifier": verifier_value(request.user, None), "interval": "90"}
        wanted = request.GET.get("collection", "")
        folder = request.GET.get("folder", "")
        if wanted.isdigit():
            initial["collection"] = int(wanted)
        if folder.isdigit():
            initial["folders"] = [folder]
        # From a search gap or a request to experts: the query is the working title.
        if title := request.GET.get("title", "").strip():
            initial["title"] = title[:300]
        form = _card_form(request, initial=initial)
    return render(request, "knowledge/card_form.html", {"form": form, "card": None})


@login_required
def card_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk, role=AccessRole.AUTHOR)
    conflict: Card | None = None
    status = 200
    if request.method == "POST":
        form = _card_form(request, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            expected = data["version"]
            overwrite = request.POST.get("overwrite", "")
            if overwrite.isdigit():
                expected = int(
                    overwrite
                )  # the editor saw the newer version and chose to save over it
            try:
                services.card_update(
                    user=request.user,
                    card=card,
                    expected_version=expected,
                    title=data["title"],
                    content=data["content"],
                    tags=data["tags"],
                    folder_ids=[int(f) for f in data["folders"]],
                    collection=data["collection"],
                    verification_interval_days=data["interval"],
                    **_verifier_args(form),
                )
            except services.StaleVersion:
                conflict = access.get_card_for(request.user, pk)
                status = 409
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("card_detail", pk=card.pk)
    else:
        form = _card_form(
            request,
            initial={
                "title": card.title,
                "content": card.content,
                "collection": card.collection_id,
                "folders": [str(f) for f in card.folder_links.values_list("folder_id", flat=True)],
                "tags": ", ".join(card.tags.values_list("name", flat=True)),
                "verifier": verifier_value(card.verifier_user, card.verifier_group),
                "interval": interval_value(card.verification_interval_days),
                "version": card.version,
            },
        )
    return render(
        request,
        "knowledge/card_form.html",
        {"form": form, "card": card, "conflict": conflict},
        status=status,
    )


@login_required
@require_POST
def card_preview(request: AuthedRequest) -> HttpResponse:
    content = request.POST.get("content", "")[:200_000]
    return render(request, "knowledge/_preview.html", {"html": render_markdown(content)})


# ---------------------------------------------------------------- history


@login_required
@require_GET
def card_history(request: AuthedRequest, pk: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk)
    versions = selectors.card_versions(card)
    return render(
        request,
        "knowledge/card_history.html",
        {"card": card, "versions": _page(request, versions)},
    )


@login_required
@require_GET
def card_version(request: AuthedRequest, pk: int, number: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk)
    diff = selectors.version_diff(card, number)
    if diff is None:
        raise Http404("No such version")
    can_restore = (
        number != card.version
        and card.archived_at is None
        and access.has_role(request.user, card.collection, AccessRole.AUTHOR)
    )
    return render(
        request,
        "knowledge/card_version.html",
        {"card": card, "diff": diff, "version": diff.newer, "can_restore": can_restore},
    )


@login_required
@require_POST
def card_restore_version(request: AuthedRequest, pk: int, number: int) -> HttpResponse:
    card = access.get_card_for(request.user, pk, role=AccessRole.AUTHOR)
    expected = request.POST.get("version", "")
    try:
        services.card_restore_version(
            user=request.user,
            card=card,
            number=number,
            expected_version=int(expected) if expected.isdigit() else card.version,
        )
    except services.StaleVersion as stale:
        messages.error(
            request,
            _(
                "The card changed (now version %(n)d) since you opened this page. "
                "Nothing was restored; check the latest version first."
            )
            % {"n": stale.current},
        )
        return redirect("card_version", pk=card.pk, number=number)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("card_history", pk=card.pk)
    messages.success(request, _("Version %(n)d restored as a new version.") % {"n": number})
    return redirect("card_detail", pk=card.pk)


# ---------------------------------------------------------------- verification queue


@login_required
@require_GET
def queue(request: AuthedRequest) -> HttpResponse:
    cards = selectors.verification_queue(request.user)
    return render(request, "knowledge/queue.html", {"page": _page(request, cards)})


# ---------------------------------------------------------------- collections and folders


@login_required
@require_http_methods(["GET", "POST"])
def collection_list(request: AuthedRequest) -> HttpResponse:
    """The collections I can read; site admins also create new ones here (POST)."""
    if request.method == "POST":
        return _collection_create(request)
    rows = selectors.trust_by_collection(request.user)
    return render(
        request,
        "knowledge/collection_list.html",
        {
            "rows": rows,
            "can_create": request.user.is_site_admin,
            "can_curate": access.collections_for(request.user, AccessRole.CURATE).exists(),
        },
    )


def _collection_create(request: AuthedRequest) -> HttpResponse:
    try:
        collection = services.collection_create(
            user=request.user,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("collection_list")
    messages.success(request, _("Collection created. Give groups access to it in Admin."))
    return redirect("collection_detail", slug=collection.slug)


def _folder_in(request: AuthedRequest, collection: Collection, folder_id: int) -> Folder:
    folder = access.folders_for(request.user).filter(collection=collection, pk=folder_id).first()
    if folder is None:
        raise Http404("No such folder")
    return folder


@login_required
@require_GET
def collection_detail(
    request: AuthedRequest, slug: str, folder_id: int | None = None
) -> HttpResponse:
    user = request.user
    collection = access.get_collection_for(user, slug=slug)
    role = access.collection_role(user, collection)
    folder = _folder_in(request, collection, folder_id) if folder_id is not None else None
    tree = selectors.folder_tree(collection)
    flat = selectors.flatten_tree(tree)
    node = next((n for n in flat if folder and n.folder.pk == folder.pk), None)
    cards = (
        selectors.folder_cards(user, folder)
        if folder
        else selectors.collection_cards(user, collection)
    )
    page = _page(request, cards)
    is_curator = role == AccessRole.CURATE
    context: dict[str, Any] = {
        "collection": collection,
        "folder": folder,
        "breadcrumbs": selectors.folder_path(folder) if folder else [],
        "tree": tree,
        "subfolders": node.children if node else tree,
        "page": page,
        "is_curator": is_curator,
        "can_author": role in (AccessRole.AUTHOR, AccessRole.CURATE),
        "trust": selectors.trust_score(access.cards_for(user).filter(collection=collection)),
        "folder_form": FolderNameForm(),
    }
    if is_curator:
        users, groups = selectors.verifier_choices()
        context["bulk_form"] = BulkForm(users=users, groups=groups)
    return render(request, "knowledge/collection_detail.html", context)


@login_required
@require_GET
def collection_archived(request: AuthedRequest, slug: str) -> HttpResponse:
    collection = access.get_collection_for(request.user, AccessRole.AUTHOR, slug=slug)
    cards = selectors.archived_cards(request.user, collection)
    return render(
        request,
        "knowledge/collection_archived.html",
        {"collection": collection, "page": _page(request, cards)},
    )


def _back_to(collection: Collection, folder: Folder | None) -> str:
    if folder is None:
        return reverse("collection_detail", args=[collection.slug])
    return reverse("folder_detail", args=[collection.slug, folder.pk])


@login_required
@require_POST
def folder_create(request: AuthedRequest, slug: str) -> HttpResponse:
    collection = access.get_collection_for(request.user, AccessRole.CURATE, slug=slug)
    parent_id = request.POST.get("parent", "")
    parent = _folder_in(request, collection, int(parent_id)) if parent_id.isdigit() else None
    try:
        folder = services.folder_create(
            user=request.user,
            collection=collection,
            name=request.POST.get("name", ""),
            parent=parent,
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(_back_to(collection, parent))
    messages.success(request, _("Folder “%s” created.") % folder.name)
    return redirect(_back_to(collection, parent))


@login_required
@require_POST
def folder_rename(request: AuthedRequest, slug: str, folder_id: int) -> HttpResponse:
    collection = access.get_collection_for(request.user, AccessRole.CURATE, slug=slug)
    folder = _folder_in(request, collection, folder_id)
    try:
        services.folder_update(user=request.user, folder=folder, name=request.POST.get("name", ""))
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Folder renamed."))
    return redirect(_back_to(collection, folder))


@login_required
@require_POST
def folder_delete(request: AuthedRequest, slug: str, folder_id: int) -> HttpResponse:
    collection = access.get_collection_for(request.user, AccessRole.CURATE, slug=slug)
    folder = _folder_in(request, collection, folder_id)
    parent = folder.parent
    services.folder_delete(user=request.user, folder=folder)
    messages.success(request, _("Folder deleted. Its cards stay in the collection."))
    return redirect(_back_to(collection, parent))


def _direction(request: AuthedRequest) -> int:
    return -1 if request.POST.get("direction") == "up" else 1


@login_required
@require_POST
def folder_move(request: AuthedRequest, slug: str, folder_id: int) -> HttpResponse:
    collection = access.get_collection_for(request.user, AccessRole.CURATE, slug=slug)
    folder = _folder_in(request, collection, folder_id)
    services.folder_move(user=request.user, folder=folder, direction=_direction(request))
    return _next_or(request, _back_to(collection, folder.parent))


@login_required
@require_POST
def folder_card_move(
    request: AuthedRequest, slug: str, folder_id: int, card_id: int
) -> HttpResponse:
    collection = access.get_collection_for(request.user, AccessRole.CURATE, slug=slug)
    folder = _folder_in(request, collection, folder_id)
    card = access.get_card_for(request.user, card_id)
    if card.collection_id != collection.pk:
        raise Http404("No such card in this collection")
    try:
        services.folder_card_move(
            user=request.user, folder=folder, card=card, direction=_direction(request)
        )
    except ValueError:
        raise Http404("The card is not in this folder") from None
    return _next_or(request, _back_to(collection, folder))


@login_required
@require_POST
def collection_bulk(request: AuthedRequest, slug: str) -> HttpResponse:
    collection = access.get_collection_for(request.user, AccessRole.CURATE, slug=slug)
    back = _next_or(request, reverse("collection_detail", args=[collection.slug]))
    ids = [int(i) for i in request.POST.getlist("card_ids") if i.isdigit()]
    users, groups = selectors.verifier_choices()
    form = BulkForm(request.POST, users=users, groups=groups)
    if not ids:
        messages.error(request, _("Select at least one card first."))
        return back
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return back
    action = form.cleaned_data["action"]
    try:
        if action == "verify":
            count = services.bulk_verify(user=request.user, card_ids=ids)
            text = ngettext("%(n)d card verified.", "%(n)d cards verified.", count)
        elif action == "set_verifier":
            verifier_user, verifier_group = form.cleaned_data["verifier_pair"]
            count = services.bulk_set_verifier(
                user=request.user,
                card_ids=ids,
                verifier_user=verifier_user,
                verifier_group=verifier_group,
            )
            text = ngettext(
                "Verifier changed on %(n)d card.", "Verifier changed on %(n)d cards.", count
            )
        else:
            count = services.bulk_set_interval(
                user=request.user, card_ids=ids, days=form.cleaned_data["interval_days"]
            )
            text = ngettext(
                "Interval changed on %(n)d card.", "Interval changed on %(n)d cards.", count
            )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return back
    messages.success(request, text % {"n": count})
    return back
