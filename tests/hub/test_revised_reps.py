"""A revised rep (`"revision": 1`, docs/payloads.md "Revised reps") replaces the stored rep
of its id, in SQLite and in PostgreSQL; a first version delivered again changes nothing."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sqlalchemy as sa

from firmware.hub import schema
from firmware.hub.records import Malformed, Record, classify
from firmware.hub.store import Store
from firmware.publishing.payloads import dumps, rep_payload
from tests import factories
from tests.hub.helpers import PREFIX

TOPIC = f"{PREFIX}/legpress-1/rep"


def _record(payload: dict) -> Record:
    got = classify(TOPIC, dumps(payload).encode(), PREFIX)
    assert isinstance(got, Record), got
    return got


def _versions() -> tuple[dict, dict]:
    rep = factories.make_rep(1, 2, eccentric_s=1.9, flags=("fast_eccentric",))
    revised = replace(rep, t_end=rep.t_end + 0.2, eccentric_s=2.1, flags=())
    kw = {"station": "legpress-1", "session": "20261201T071500Z"}
    return rep_payload(rep, **kw), rep_payload(revised, **kw, revised=True)


def _stored(store: Store) -> list[tuple]:
    r = schema.reps
    with store.engine.connect() as conn:
        return list(
            conn.execute(sa.select(r.c.id, r.c.eccentric_s, r.c.received_at, r.c.payload)).all()
        )


def test_a_revision_replaces_the_rep_and_a_late_first_version_does_not(store) -> None:
    first, revised = _versions()
    store.write([_record(first)], [], received_at=10.0)
    store.write([_record(revised)], [], received_at=11.0)
    ((rep_id, eccentric_s, received_at, payload),) = _stored(store)
    assert rep_id == first["id"] and eccentric_s == 2.1 and received_at == 10.0
    assert json.loads(payload) == revised
    store.write([_record(first), _record(revised), _record(first)], [], received_at=12.0)
    assert [(r[0], r[1], json.loads(r[3])) for r in _stored(store)] == [(rep_id, 2.1, revised)]


def test_both_versions_in_one_batch_and_a_revision_alone_are_stored_revised(store) -> None:
    first, revised = _versions()
    store.write([_record(first), _record(revised)], [], received_at=10.0)
    assert json.loads(_stored(store)[0][3]) == revised
    other = {**revised, "id": revised["id"].replace("/r2", "/r3"), "rep": 3}
    store.write([_record(other)], [], received_at=11.0)  # its first version never came
    assert sorted(r[0] for r in _stored(store)) == sorted([first["id"], other["id"]])


@pytest.mark.parametrize("revision", [2, -1, "1", True, None])
def test_a_revision_other_than_1_is_malformed(revision) -> None:
    _, revised = _versions()
    got = classify(TOPIC, json.dumps({**revised, "revision": revision}).encode(), PREFIX)
    assert isinstance(got, Malformed) and "revision" in got.reason
