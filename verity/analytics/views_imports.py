"""The import pages under /analytics/imports/ (site admins): the list of past imports and the
upload → preview and map columns → validate → import journey, plus stage mappings and
products. Everyone else who may see analytics gets 403; anyone else 404.

Imports run in the request: a 200 MB file takes about a minute on SQLite (see
docs/analytics-import.md); the command line is the way for bigger files.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from verity.accounts import access
from verity.accounts.models import User
from verity.analytics import imports
from verity.analytics.forms_imports import (
    KIND_HELP,
    LaunchDateForm,
    MappingForm,
    ProductAliasForm,
    StageMappingForm,
    UploadForm,
    preset_choices,
)
from verity.analytics.imports_parse import CellError
from verity.analytics.models import (
    ImportKind,
    ImportRun,
    ImportStatus,
    Product,
    ProductAlias,
    StageMapping,
)

PREVIEW_ROWS = 5
RUNS_SHOWN = 100


class AuthedRequest(HttpRequest):
    user: User  # type: ignore[assignment]


def _require_manager(user: User) -> None:
    """Admins only: people who see analytics learn the page exists (403), others do not (404)."""
    if access.can_manage_analytics(user):
        return
    if access.can_see_analytics(user):
        raise PermissionDenied
    raise Http404


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "sees_analytics": True,
        "section": "imports",
        "imports_url": reverse("analytics_imports"),
        **extra,
    }


def _form_error(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: AuthedRequest) -> HttpResponse:
    _require_manager(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = imports.upload_store(
                user=request.user,
                kind=form.cleaned_data["kind"],
                name=upload.name,
                chunks=upload.chunks(),
                size=upload.size,
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            return redirect("analytics_import", pk=run.pk)
    runs = ImportRun.objects.select_related("created_by")[:RUNS_SHOWN]
    kinds = [(label, KIND_HELP[ImportKind(k)]) for k, label in ImportKind.choices]
    return render(
        request,
        "analytics/imports/list.html",
        _context(form=form, runs=runs, kinds=kinds, limit_mb=imports.max_upload_bytes() // 2**20),
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    run = get_object_or_404(ImportRun.objects.select_related("created_by"), pk=pk)
    path = imports.upload_path(run) if run.status == ImportStatus.UPLOADED else None
    if path is None:
        if request.method == "POST":
            messages.error(request, _("The uploaded file is gone; upload it again."))
            return redirect("analytics_imports")
        return render(
            request,
            "analytics/imports/run.html",
            _context(run=run, run_failed=run.status == ImportStatus.FAILED),
        )
    try:
        headers, preview = imports.read_header(path, PREVIEW_ROWS)
    except CellError as exc:
        messages.error(request, str(exc))
        imports.upload_discard(run)
        return redirect("analytics_imports")
    preset = request.GET.get("preset", "")
    initial_mapping = imports.guess_mapping(run.kind, headers)
    if preset:
        try:
            initial_mapping = imports.preset_mapping(run.kind, preset)
        except ValidationError:
            messages.error(request, _("No saved mapping “%(name)s”.") % {"name": preset})
    saved = run.options.get("mapping") if run.options else None
    if saved and not preset:
        initial_mapping = saved  # the mapping of the last check of this file
    posted_mapping: dict[str, str] = {
        k.removeprefix("map_"): str(v) for k, v in request.POST.items() if k.startswith("map_")
    }
    values = imports.scan_values(path, run.kind, posted_mapping or initial_mapping)
    form = MappingForm(
        request.POST or None,
        kind=run.kind,
        headers=headers,
        stages=values.unknown_stages,
        products=values.new_products,
        initial={f"map_{k}": v for k, v in initial_mapping.items()},
    )
    report = None
    status = 200
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action", "validate")
        options = form.options(dry_run=action != "import")
        try:
            if form.cleaned_data["save_preset"]:
                imports.preset_save(
                    user=request.user,
                    kind=run.kind,
                    name=form.cleaned_data["save_preset"],
                    mapping=options.mapping,
                )
            report = imports.upload_import(user=request.user, run=run, options=options)
        except imports.ImportRejected as rejected:
            report = rejected.report
            status = 400
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            if not options.dry_run:
                messages.success(
                    request,
                    _(
                        "Imported %(rows)s rows: %(created)s created, %(updated)s updated, "
                        "%(skipped)s skipped."
                    )
                    % {
                        "rows": report.rows,
                        "created": report.created,
                        "updated": report.updated,
                        "skipped": report.skipped,
                    },
                )
                return redirect("analytics_import", pk=run.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "analytics/imports/mapping.html",
        _context(
            run=run,
            headers=headers,
            preview=preview,
            form=form,
            report=report,
            rejected=report is not None and status == 400,
            presets=preset_choices(run.kind),
            preset=preset,
            values=values,
        ),
        status=status,
    )


@login_required
@require_POST
def import_discard(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    run = get_object_or_404(ImportRun, pk=pk)
    if run.status == ImportStatus.UPLOADED:
        imports.upload_discard(run)
        run.delete()
        messages.success(request, _("The uploaded file was deleted."))
    return redirect("analytics_imports")


@login_required
@require_http_methods(["GET", "POST"])
def stage_mappings(request: AuthedRequest) -> HttpResponse:
    _require_manager(request.user)
    form = StageMappingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            imports.stage_mapping_set(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Stage mapping saved."))
            return redirect("analytics_stage_mappings")
    from verity.analytics.imports_parse import DEFAULT_OPEN_STAGES, DEFAULT_OUTCOMES

    return render(
        request,
        "analytics/imports/stages.html",
        _context(
            form=form,
            mappings=StageMapping.objects.all(),
            default_outcomes=sorted(DEFAULT_OUTCOMES.items()),
            default_open=DEFAULT_OPEN_STAGES,
        ),
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def stage_mapping_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    mapping = get_object_or_404(StageMapping, pk=pk)
    imports.stage_mapping_delete(user=request.user, mapping=mapping)
    messages.success(request, _("Stage mapping deleted."))
    return redirect("analytics_stage_mappings")


@login_required
@require_http_methods(["GET", "POST"])
def products(request: AuthedRequest) -> HttpResponse:
    _require_manager(request.user)
    alias_form = ProductAliasForm(request.POST if "alias" in request.POST else None)
    if request.method == "POST" and "launch" in request.POST:
        product = get_object_or_404(Product, pk=request.POST.get("launch"))
        launch_form = LaunchDateForm(request.POST, prefix=f"p{product.pk}")
        if launch_form.is_valid():
            imports.product_set_launch(
                user=request.user,
                product=product,
                launch_date=launch_form.cleaned_data["launch_date"],
            )
            messages.success(request, _("Launch date of %(name)s saved.") % {"name": product.name})
            return redirect("analytics_products")
        messages.error(request, _("Enter a valid date."))
    elif request.method == "POST" and alias_form.is_valid():
        try:
            imports.product_alias_add(
                user=request.user,
                product_id=alias_form.cleaned_data["product"].pk,
                alias=alias_form.cleaned_data["alias"],
            )
        except ValidationError as exc:
            _form_error(alias_form, exc)
        else:
            messages.success(request, _("Alias saved."))
            return redirect("analytics_products")
    rows = [
        (
            product,
            LaunchDateForm(initial={"launch_date": product.launch_date}, prefix=f"p{product.pk}"),
        )
        for product in Product.objects.prefetch_related("aliases")
    ]
    return render(
        request,
        "analytics/imports/products.html",
        _context(rows=rows, alias_form=alias_form),
        status=400 if alias_form.errors else 200,
    )


@login_required
@require_POST
def product_alias_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    alias = get_object_or_404(ProductAlias, pk=pk)
    imports.product_alias_delete(user=request.user, alias=alias)
    messages.success(request, _("Alias deleted."))
    return redirect("analytics_products")
