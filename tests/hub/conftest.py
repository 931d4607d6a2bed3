"""Fixtures for the hub: a real PostgreSQL cluster per test session, SQLite files, mosquitto."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from firmware.hub.store import Store
from tests.hub.postgres import Postgres
from tests.web.conftest import browser, page  # noqa: F401  (the pages tests share Chromium)

_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    cluster = Postgres().start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty database of each kind the hub supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite3'}"
    cluster = request.getfixturevalue("postgres")
    return cluster.create_db(f"hub{next(_db_numbers)}")


@pytest.fixture
def store(db_url) -> Iterator[Store]:
    """An empty history database of each kind (a test module may fill its own instead)."""
    s = Store.open(db_url)
    try:
        yield s
    finally:
        s.close()
