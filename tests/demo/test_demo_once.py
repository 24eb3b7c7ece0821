"""`verity demo load --once` leaves a database with real content alone."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from verity.accounts.models import User
from verity.knowledge.models import Card


def test_once_skips_a_database_that_has_content(cast):
    out = StringIO()
    call_command("demo", "load", "--once", stdout=out)
    assert "already has content" in out.getvalue()
    assert Card.objects.count() == 2
    assert not User.objects.filter(email__endswith="@northwind.example").exists()


def test_logins_before_loading(db):
    out = StringIO()
    call_command("demo", "logins", stdout=out)
    assert "not loaded" in out.getvalue()
