"""The upload pages: admins only (403 for others who see analytics, 404 for the rest),
upload → preview → map → check → import → the run's page, stage mappings and products,
in English and Russian."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from verity.accounts.models import User
from verity.analytics import imports
from verity.analytics.models import (
    ImportRun,
    ImportStatus,
    MappingPreset,
    Opportunity,
    Product,
    ProductAlias,
    StageMapping,
)

pytestmark = pytest.mark.django_db

CSV = (
    "Opportunity ID,Opportunity Owner,Deal Stage,Created Date,Close Date,Amount,Product\n"
    'U-1,sales@example.com,Closed Won,2025-01-01,2025-02-01,"1,000",Forecasting\n'
    "U-2,sales@example.com,Signed,2025-01-02,2025-02-02,500,Fcst\n"
    "U-3,sales@example.com,Prospecting,2025-01-03,,10,Forecasting\n"
)


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path


def client_for(user: User | None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def text_of(response) -> str:
    page = response.content.decode()
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


def upload(client: Client, content: str = CSV, kind: str = "opportunities") -> ImportRun:
    response = client.post(
        reverse("analytics_imports"),
        {"kind": kind, "file": SimpleUploadedFile("deals.csv", content.encode(), "text/csv")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportRun.objects.latest("pk")


def mapping_post(**extra: str) -> dict[str, str]:
    data = {
        "map_id": "Opportunity ID",
        "map_owner": "Opportunity Owner",
        "map_account": "",
        "map_product": "Product",
        "map_amount": "Amount",
        "map_stage": "Deal Stage",
        "map_created_date": "Created Date",
        "map_close_date": "Close Date",
    }
    data.update(extra)
    return data


URLS = [
    reverse("analytics_imports"),
    reverse("analytics_stage_mappings"),
    reverse("analytics_products"),
]


@pytest.mark.parametrize("who", ["curator", "manager"])
def test_analytics_viewers_who_are_not_admins_get_403(cast, who) -> None:
    client = client_for(getattr(cast, who))
    for url in URLS:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("who", ["sales_reader", "outsider"])
def test_everyone_else_gets_404(cast, who) -> None:
    client = client_for(getattr(cast, who))
    for url in URLS:
        assert client.get(url).status_code == 404, url
    run = ImportRun.objects.create(kind="people", source="cli")
    assert client.get(reverse("analytics_import", args=[run.pk])).status_code == 404


def test_anonymous_is_sent_to_sign_in(cast) -> None:
    response = Client().get(reverse("analytics_imports"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_outsider_cannot_upload(cast) -> None:
    response = client_for(cast.curator).post(
        reverse("analytics_imports"),
        {"kind": "people", "file": SimpleUploadedFile("p.csv", b"email\na@example.com\n")},
    )
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_the_whole_journey(cast) -> None:
    client = client_for(cast.admin)
    page = client.get(reverse("analytics_imports"))
    assert page.status_code == 200 and "No imports yet" in text_of(page)
    run = upload(client)
    stored = imports.upload_path(run)
    assert stored is not None and stored.parent.name == "imports"
    url = reverse("analytics_import", args=[run.pk])

    # Preview and guessed mapping; the unknown stage and products are offered for mapping.
    page = client.get(url)
    text = text_of(page)
    assert page.status_code == 200
    assert "U-1" in text and "Closed Won" in text  # the first rows
    html = page.content.decode()
    assert re.search(r'<option value="Opportunity Owner" selected>', html)
    assert "Signed" in text and "Fcst" in text

    # Check: the unknown stage is a row error with its row and column; nothing written.
    response = client.post(url, {**mapping_post(), "action": "validate"})
    assert response.status_code == 400
    text = text_of(response)
    assert "unknown stage “Signed”" in text and "Deal Stage" in text
    assert re.search(r'>3</td><td data-label="[^"]*">Deal Stage</td>', response.content.decode())
    assert not Opportunity.objects.exists()

    # Map the stage and the product spelling, save the mapping as a preset, check again.
    stage_field = _field_for(response.content.decode(), "Signed", "stage")
    product_field = _field_for(response.content.decode(), "Fcst", "product")
    Product.objects.create(name="Forecasting")
    data = {
        **mapping_post(),
        stage_field: "won",
        product_field: "Forecasting",
        "save_preset": "Salesforce deals",
    }
    response = client.post(url, {**data, "action": "validate"})
    assert response.status_code == 200, text_of(response)[:3000]
    assert "3 rows: 3 will be created" in text_of(response)
    assert not Opportunity.objects.exists()
    assert MappingPreset.objects.filter(name="Salesforce deals").exists()

    # Import: counts on the run's page, the file is gone.
    response = client.post(url, {**data, "action": "import"}, follow=True)
    assert response.status_code == 200
    text = text_of(response)
    assert "Imported 3 rows: 3 created, 0 updated, 0 skipped." in text
    assert dict(Opportunity.objects.values_list("external_id", "outcome")) == {
        "U-1": "won",
        "U-2": "won",
        "U-3": "open",
    }
    assert Opportunity.objects.values("product").distinct().count() == 1
    assert StageMapping.objects.get(stage="signed").outcome == "won"
    assert ProductAlias.objects.get(alias="fcst").product.name == "Forecasting"
    run.refresh_from_db()
    assert run.status == ImportStatus.DONE and run.created_count == 3
    assert not stored.exists()
    # The list shows it.
    assert "deals.csv" in text_of(client.get(reverse("analytics_imports")))


def _field_for(html: str, label: str, prefix: str) -> str:
    match = re.search(rf'<label for="id_({prefix}_\d+)">{re.escape(label)}</label>', html)
    assert match, f"no field for {label}"
    return match.group(1)


def test_skip_invalid_from_the_page(cast) -> None:
    client = client_for(cast.admin)
    run = upload(client)
    url = reverse("analytics_import", args=[run.pk])
    response = client.post(url, {**mapping_post(), "skip_invalid": "on", "action": "import"})
    assert response.status_code == 302
    assert set(Opportunity.objects.values_list("external_id", flat=True)) == {"U-1", "U-3"}
    page = text_of(client.get(url))
    assert "unknown stage “Signed”" in page  # the run's page lists the skipped row


def test_a_preset_fills_the_mapping(cast) -> None:
    client = client_for(cast.admin)
    content = "Deal,Rep,Phase,Opened\nX-1,sales@example.com,Prospecting,2025-01-01\n"
    run = upload(client, content)
    MappingPreset.objects.create(
        kind="opportunities",
        name="odd",
        mapping={"id": "Deal", "owner": "Rep", "stage": "Phase", "created_date": "Opened"},
    )
    page = client.get(reverse("analytics_import", args=[run.pk]), {"preset": "odd"})
    html = page.content.decode()
    assert re.search(r'<option value="Rep" selected>', html)
    assert re.search(r'<option value="Phase" selected>', html)


def test_missing_required_mapping_is_a_form_error(cast) -> None:
    client = client_for(cast.admin)
    run = upload(client)
    url = reverse("analytics_import", args=[run.pk])
    response = client.post(url, {**mapping_post(map_owner=""), "action": "validate"})
    assert response.status_code == 400
    assert "This field is required." in text_of(response)


def test_upload_limits_and_bad_files(cast, settings) -> None:
    client = client_for(cast.admin)
    response = client.post(
        reverse("analytics_imports"),
        {"kind": "people", "file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad")},
    )
    assert response.status_code == 400 and "UTF-8" in text_of(response)
    settings.VERITY_IMPORT_MAX_UPLOAD_MB = 0
    response = client.post(
        reverse("analytics_imports"),
        {"kind": "people", "file": SimpleUploadedFile("x.csv", b"email\na@example.com\n")},
    )
    assert response.status_code == 400 and "the limit is 0 MB" in text_of(response)
    assert not ImportRun.objects.exists()


def test_discard(cast) -> None:
    client = client_for(cast.admin)
    run = upload(client)
    stored = imports.upload_path(run)
    response = client.post(reverse("analytics_import_discard", args=[run.pk]))
    assert response.status_code == 302
    assert not ImportRun.objects.exists() and stored is not None and not stored.exists()


def test_people_upload(cast) -> None:
    client = client_for(cast.admin)
    content = (
        "Email,Full Name,Job Function,Manager Email\n"
        "rep@example.com,Rep,Customer Success,boss@example.com\n"
        "boss@example.com,Boss,Leadership,\n"
    )
    run = upload(client, content, kind="people")
    response = client.post(
        reverse("analytics_import", args=[run.pk]),
        {
            "map_email": "Email",
            "map_name": "Full Name",
            "map_job_function": "Job Function",
            "map_manager_email": "Manager Email",
            "action": "import",
        },
    )
    assert response.status_code == 302
    rep = User.objects.get(email="rep@example.com")
    assert rep.manager and rep.manager.email == "boss@example.com"
    assert rep.job_function == "success" and not rep.has_usable_password()


def test_stage_mappings_page(cast) -> None:
    client = client_for(cast.admin)
    url = reverse("analytics_stage_mappings")
    assert "closed won" in text_of(client.get(url))
    response = client.post(url, {"stage": "  Verbal  Yes ", "outcome": "won"})
    assert response.status_code == 302
    mapping = StageMapping.objects.get()
    assert (mapping.stage, mapping.outcome) == ("verbal yes", "won")
    response = client.post(url, {"stage": "", "outcome": "won"})
    assert response.status_code == 400
    client.post(reverse("analytics_stage_mapping_delete", args=[mapping.pk]))
    assert not StageMapping.objects.exists()


def test_products_page(cast) -> None:
    client = client_for(cast.admin)
    product = Product.objects.create(name="Forecasting")
    url = reverse("analytics_products")
    response = client.post(url, {"launch": product.pk, f"p{product.pk}-launch_date": "2025-06-01"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert str(product.launch_date) == "2025-06-01"
    response = client.post(url, {"product": product.pk, "alias": "FCST"})
    assert response.status_code == 302
    alias = ProductAlias.objects.get()
    assert alias.alias == "fcst"
    assert "fcst" in text_of(client.get(url))
    response = client.post(url, {"product": product.pk, "alias": "forecasting"})
    assert response.status_code == 400 and "own name" in text_of(response)
    client.post(reverse("analytics_product_alias_delete", args=[alias.pk]))
    assert not ProductAlias.objects.exists()


def test_pages_in_russian(cast) -> None:
    """The pages render in Russian: the page language, the shared navigation and the data
    (row numbers, columns, the file's values) are there."""
    client = client_for(cast.admin, "ru")
    page = client.get(reverse("analytics_imports"))
    assert page.status_code == 200 and 'lang="ru"' in page.content.decode()
    run = upload(client)
    url = reverse("analytics_import", args=[run.pk])
    response = client.post(url, {**mapping_post(), "action": "validate"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'lang="ru"' in html and "Signed" in html and "Deal Stage" in html
    assert re.search(r'>3</td><td data-label="[^"]*">Deal Stage</td>', html)
    for url in (reverse("analytics_stage_mappings"), reverse("analytics_products")):
        assert client.get(url).status_code == 200


def test_run_page_of_a_command_line_import(cast, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("email,name\nx@example.com,X\n")
    report = imports.import_file(kind="people", path=path, options=imports.ImportOptions())
    page = client_for(cast.admin).get(reverse("analytics_import", args=[report.run_id]))
    assert page.status_code == 200
    text = text_of(page)
    assert "command line" in text and "p.csv" in text
