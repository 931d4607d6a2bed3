"""Publisher set-up errors: one line naming the key and file; the password never shows."""

from __future__ import annotations

import json

import pytest

from firmware.config import SCHEMA, ConfigError
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.payloads import dumps
from tests.mosquitto import free_port


def section(**overrides):
    s = {key: spec.default for key, spec in SCHEMA["mqtt"].items()}
    s.update(host="127.0.0.1", port=1, station="st")
    s.update(overrides)
    return s


def test_missing_password_file_names_it(tmp_path, outbox):
    missing = tmp_path / "nope.pw"
    with pytest.raises(ConfigError, match=r"^\[mqtt\] password_file: .*nope\.pw: no such file$"):
        MqttPublisher(section(username="u", password_file=str(missing)), outbox, station="st")


def test_unreadable_password_file_names_it(tmp_path, outbox):
    # A directory is unreadable as a file for root too.
    with pytest.raises(ConfigError, match=r"^\[mqtt\] password_file: .*: cannot read"):
        MqttPublisher(section(username="u", password_file=str(tmp_path)), outbox, station="st")


def test_empty_password_file(tmp_path, outbox):
    pw = tmp_path / "pw"
    pw.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        MqttPublisher(section(username="u", password_file=str(pw)), outbox, station="st")


def test_password_needs_username(tmp_path, outbox):
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    with pytest.raises(ConfigError, match="needs \\[mqtt\\] username"):
        MqttPublisher(section(password_file=str(pw)), outbox, station="st")


def test_missing_ca_file_names_it(tmp_path, outbox):
    with pytest.raises(ConfigError, match=r"^\[mqtt\] ca_file: .*ca\.pem: no such file$"):
        MqttPublisher(section(ca_file=str(tmp_path / "ca.pem")), outbox, station="st")


def test_cert_without_ca(tmp_path, outbox):
    with pytest.raises(ConfigError, match="needs \\[mqtt\\] ca_file"):
        MqttPublisher(section(cert_file=str(tmp_path / "c.pem")), outbox, station="st")


@pytest.mark.parametrize("bad", ["a/b", "a+", "#", "", " x"])
def test_station_must_be_one_topic_level(outbox, bad):
    with pytest.raises(ConfigError, match=r"\[mqtt\] station"):
        MqttPublisher(section(), outbox, station=bad)


def test_no_host(outbox):
    with pytest.raises(ConfigError, match=r"\[mqtt\] host"):
        MqttPublisher(section(host=None), outbox, station="st")


def test_publish_rejects_the_wrong_payload_kind(outbox):
    pub = MqttPublisher(section(), outbox, station="st")
    with pytest.raises(ValueError, match="rep payload"):
        pub.publish_rep({"type": "set"})
    assert len(outbox) == 0


def test_rep_is_stored_before_any_connection(outbox):
    from .conftest import make_rep

    # Nothing listens on the port: the worker stores, the broker never sees it.
    pub = MqttPublisher(section(port=free_port()), outbox, station="st").start()
    try:
        pub.publish_rep(make_rep(1, 1))
        assert pub.wait_stored(10.0)
        [item] = outbox.pending(5)
        assert item.topic == "repsled/st/rep"
        assert item.payload == dumps(make_rep(1, 1))
    finally:
        pub.close()


def test_health_payload_matches_the_documented_example(outbox):
    import json
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "mqtt.md").read_text(encoding="utf-8")
    example = json.loads(text.split("### health", 1)[1].split("```json", 1)[1].split("```", 1)[0])
    health = MqttPublisher(section(), outbox, station="legpress-1").health()
    assert set(example) == set(health)
    assert example["schema"] == health["schema"] == 1 and health["type"] == "health"
    assert (health["storage"], health["delivery"]) == ("disk", "checking")


def test_the_intake_is_bounded_while_the_worker_is_away(outbox, monkeypatch, caplog):
    """The sampling loop never waits: past INTAKE_MAX queued messages the oldest go, said."""
    import logging

    from firmware.publishing import mqtt as mqtt_module

    from .conftest import make_rep

    monkeypatch.setattr(mqtt_module, "INTAKE_MAX", 10)
    pub = MqttPublisher(section(port=free_port()), outbox, station="st")
    for i in range(1, 16):  # no worker yet: as if it sat in a stalled fsync
        pub.publish_rep(make_rep(1, i))
    with caplog.at_level(logging.ERROR, logger="firmware.publishing.mqtt"):
        pub.start()
        try:
            assert pub.wait_stored(10.0)
        finally:
            pub.close()
    assert [json.loads(i.payload)["rep"] for i in outbox.pending(20)] == list(range(6, 16))
    assert any("5 message(s) dropped" in r.getMessage() for r in caplog.records)
