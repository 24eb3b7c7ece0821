"""Helpers for the import tests: CSV files written from rows, and reps to own deals."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from verity.accounts.models import JobFunction, User

OPP_HEADER = ["id", "owner", "account", "product", "amount", "stage", "created_date", "close_date"]


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    counter = {"n": 0}

    def write(header: Sequence[str], rows: Sequence[Sequence[object]], name: str = "") -> Path:
        counter["n"] += 1
        path = tmp_path / (name or f"file{counter['n']}.csv")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([[("" if v is None else v) for v in row] for row in rows])
        return path

    return write


@pytest.fixture
def reps(db: None) -> dict[str, User]:
    return {
        "ann": User.objects.create_user(
            "ann@example.com", PASSWORD, name="Ann Rep", job_function=JobFunction.SALES
        ),
        "bob": User.objects.create_user(
            "bob@example.com", PASSWORD, name="Bob Rep", job_function=JobFunction.SALES
        ),
    }
