"""The client's tests run with nothing but the client installed (and pytest)."""

from __future__ import annotations

import pytest
from fake_api import FakeApi


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()
