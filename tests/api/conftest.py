"""A small JSON client per cast member, authenticated with a personal bearer token."""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.fixture
def anon(db: None) -> Api:
    return Api(None)
