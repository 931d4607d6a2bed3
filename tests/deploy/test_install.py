"""deploy/install.sh in --root mode (no apt, systemctl, useradd: only the files), and lint."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from firmware.config import load

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "install.sh"
CONFIG = "etc/repsled/config.toml"
UNIT = "etc/systemd/system/repsled.service"


def install(
    root: Path,
    *args: str,
    check: bool = True,
    venv: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """install.sh --root ROOT, with --no-venv unless `venv`; `env` adds to the environment."""
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--root", str(root), *([] if venv else ["--no-venv"]), *args],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env={**os.environ, "LC_ALL": "C", **(env or {})},
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every file and link under root with its mtime and content."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = (0, os.readlink(path))
        elif path.is_file():
            out[rel] = (path.stat().st_mtime_ns, path.read_bytes())
    return out


def test_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    proc = subprocess.run([shellcheck, str(SCRIPT)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_install_writes_config_and_unit(tmp_path):
    out = install(tmp_path).stdout
    assert (tmp_path / CONFIG).read_bytes() == (REPO / "deploy/config.example.toml").read_bytes()
    assert (tmp_path / UNIT).read_bytes() == (REPO / "systemd/repsled.service").read_bytes()
    assert (tmp_path / CONFIG).stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "etc/repsled").stat().st_mode & 0o777 == 0o750
    load(tmp_path / CONFIG)
    # Nothing of the running system is touched: it is only reported.
    skipped = [ln for ln in out.splitlines() if ln.startswith("skipped (--root): ")]
    for command in ("apt-get install", "useradd", "raspi-config", "systemctl enable"):
        assert any(command in ln for ln in skipped), out
    assert "repsled check" in out and "repsled calibrate" in out
    assert not (tmp_path / "opt").exists()  # --no-venv


def test_second_run_changes_nothing_and_says_so(tmp_path):
    first = install(tmp_path).stdout
    assert "Done: 3 changes made" in first
    before = snapshot(tmp_path)
    second = install(tmp_path).stdout
    assert "Nothing to do: repsled is already installed as asked." in second
    assert "-> " not in second
    assert snapshot(tmp_path) == before


def test_existing_config_is_never_overwritten(tmp_path):
    config = tmp_path / CONFIG
    config.parent.mkdir(parents=True)
    config.write_text("version = 1\n[sled]\nbottom_mm = 90\nlockout_mm = 700\n")
    out = install(tmp_path).stdout
    assert "kept /etc/repsled/config.toml" in out
    assert config.read_text() == "version = 1\n[sled]\nbottom_mm = 90\nlockout_mm = 700\n"


def test_changed_unit_is_replaced_and_reloaded(tmp_path):
    install(tmp_path)
    (tmp_path / UNIT).write_text("[Service]\nExecStart=/bin/false\n")
    out = install(tmp_path).stdout
    assert "-> install /etc/systemd/system/repsled.service" in out
    assert "systemctl daemon-reload" in out
    assert (tmp_path / UNIT).read_bytes() == (REPO / "systemd/repsled.service").read_bytes()


def test_dry_run_prints_every_action_and_changes_nothing(tmp_path):
    out = install(tmp_path, "--dry-run").stdout
    assert list(tmp_path.iterdir()) == []
    for line in (
        "would: create /etc/repsled",
        "would: install /etc/repsled/config.toml",
        "would: install /etc/systemd/system/repsled.service",
        "skipped (--root): reload systemd: systemctl daemon-reload",
        "skipped (--root): systemctl enable repsled.service",
        "Dry run: 3 actions above would be taken; nothing was changed.",
    ):
        assert line in out, out
    assert "-> " not in out


def test_dry_run_after_install_has_nothing_to_do(tmp_path):
    install(tmp_path)
    out = install(tmp_path, "--dry-run").stdout
    assert "would:" not in out
    assert "Nothing to do" in out


def test_uninstall_keeps_config_and_outbox(tmp_path):
    install(tmp_path)
    outbox = tmp_path / "var/lib/repsled/outbox"
    outbox.parent.mkdir(parents=True)
    outbox.write_text("unsent\n")
    venv_python = tmp_path / "opt/repsled/venv/bin/python"  # as a real install leaves it
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("")
    out = install(tmp_path, "--uninstall").stdout
    assert not (tmp_path / UNIT).exists()
    assert not (tmp_path / "opt/repsled").exists()
    assert (tmp_path / CONFIG).exists() and outbox.read_text() == "unsent\n"
    assert "kept /etc/repsled (--purge removes it)" in out
    assert "kept /var/lib/repsled (--purge removes it)" in out
    assert "skipped (--root): stop and disable repsled.service" in out
    again = install(tmp_path, "--uninstall").stdout
    assert "Nothing to do: repsled is not installed." in again


def test_purge_removes_config_and_outbox(tmp_path):
    install(tmp_path)
    (tmp_path / "var/lib/repsled").mkdir(parents=True)
    out = install(tmp_path, "--uninstall", "--purge").stdout
    assert not (tmp_path / "etc/repsled").exists()
    assert not (tmp_path / "var/lib/repsled").exists()
    assert "skipped (--root): userdel repsled" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unknown option --bogus"),
        (["--purge"], "--purge only goes with --uninstall"),
        (["--wheel", "nope.whl"], "--wheel nope.whl: not a wheel file"),
        (["--station", "a/b"], "--station a/b:"),
    ],
)
def test_bad_options_give_one_line_errors(tmp_path, args, message):
    proc = install(tmp_path, *args, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("install.sh: error: ") and message in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_single_box_mode_sets_up_broker_files(tmp_path):
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd not installed (apt-get install mosquitto)")
    out = install(tmp_path, "--with-mosquitto", "--station", "legpress-1").stdout
    conf = tmp_path / "etc/mosquitto/conf.d/repsled.conf"
    assert conf.read_bytes() == (REPO / "deploy/mosquitto/repsled.conf").read_bytes()
    assert (tmp_path / "etc/mosquitto/repsled.acl").read_bytes() == (
        REPO / "deploy/mosquitto/acl"
    ).read_bytes()
    users = [
        line.split(":")[0]
        for line in (tmp_path / "etc/mosquitto/repsled.passwd").read_text().splitlines()
    ]
    assert users == ["legpress-1", "dashboard"]
    secret = tmp_path / "etc/repsled/mqtt-password"
    assert secret.stat().st_mode & 0o777 == 0o640 and len(secret.read_text().strip()) >= 20
    assert (tmp_path / "etc/repsled/dashboard-password").stat().st_mode & 0o777 == 0o600
    assert "***" not in out and secret.read_text().strip() not in out
    cfg = load(tmp_path / CONFIG)
    assert cfg.mqtt["host"] == "localhost"
    assert cfg.mqtt["station"] == cfg.mqtt["username"] == "legpress-1"
    assert cfg.mqtt["password_file"] == "/etc/repsled/mqtt-password"
    assert "skipped (--root): restart mosquitto" in out
    before = snapshot(tmp_path)
    again = install(tmp_path, "--with-mosquitto", "--station", "legpress-1").stdout
    assert "Nothing to do" in again
    assert snapshot(tmp_path) == before
    out = install(tmp_path, "--uninstall").stdout
    assert not conf.exists()
    assert (tmp_path / "etc/mosquitto/repsled.passwd").exists()
    assert "kept /etc/mosquitto/repsled.passwd (--purge removes it)" in out


def test_dry_run_hides_broker_passwords(tmp_path):
    out = install(tmp_path, "--dry-run", "--with-mosquitto", "--station", "s1").stdout
    assert "would: add broker user s1 to /etc/mosquitto/repsled.passwd (mosquitto_passwd -U" in out
    assert " -b " not in out


@pytest.fixture
def fake_python3(tmp_path: Path) -> dict[str, str]:
    """An environment whose python3 is tests/deploy/fake_python3.sh (offline venv and pip)."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    real = shutil.which("python3")
    assert real is not None
    shutil.copy(Path(__file__).with_name("fake_python3.sh"), bin_dir / "python3")
    (bin_dir / "python3").chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "REAL_PYTHON3": real}


def test_empty_root_installs_on_the_first_run_and_has_nothing_to_do_after(
    tmp_path: Path, fake_python3: dict[str, str]
) -> None:
    """An empty directory has no /usr/local/bin: the first run creates it and the link; the
    second and third change nothing; a link deleted by hand comes back."""
    root = tmp_path / "root"
    root.mkdir()
    first = install(root, venv=True, env=fake_python3)
    link = root / "usr/local/bin/repsled"
    assert link.is_symlink() and os.readlink(link) == "/opt/repsled/venv/bin/repsled"
    assert "-> link /usr/local/bin/repsled to the venv's repsled" in first.stdout
    assert "Done: " in first.stdout
    calls = (root / "opt/repsled/calls.log").read_text().splitlines()
    assert sum(c.startswith("-m pip install") for c in calls) == 1
    before = snapshot(root)
    for _ in range(2):
        again = install(root, venv=True, env=fake_python3).stdout
        assert "Nothing to do: repsled is already installed as asked." in again
        assert "-> " not in again
        assert snapshot(root) == before
    link.unlink()
    repaired = install(root, venv=True, env=fake_python3).stdout
    assert "-> link /usr/local/bin/repsled" in repaired
    assert "Done: 1 changes made" in repaired
    assert os.readlink(link) == "/opt/repsled/venv/bin/repsled"


def _needs_mosquitto_passwd() -> None:
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd not installed (apt-get install mosquitto)")


def test_broker_passwords_never_reach_a_command_line(tmp_path: Path) -> None:
    """bash's xtrace logs every command install.sh runs: no password may be an argument of
    one that is not a shell builtin (only other programs show up in the process list)."""
    _needs_mosquitto_passwd()
    proc = subprocess.run(
        ["bash", "-x", str(SCRIPT), "--root", str(tmp_path), "--no-venv", "--with-mosquitto",
         "--station", "s1"],
        check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    passwords = [
        (tmp_path / "etc/repsled" / name).read_text().strip()
        for name in ("mqtt-password", "dashboard-password")
    ]
    traced = [ln.lstrip("+ ") for ln in proc.stderr.splitlines() if ln.startswith("+")]
    assert any(ln.startswith("mosquitto_passwd -U ") for ln in traced), proc.stderr
    builtins = ("printf ", "local ", "password=", "[[ ", "act ", "append_broker_user ",
                "write_secret ")  # fmt: skip
    for password in passwords:
        assert len(password) >= 20
        leaks = [ln for ln in traced if password in ln and not ln.startswith(builtins)]
        assert leaks == []


def test_password_file_is_not_world_readable_and_gets_fixed(tmp_path: Path) -> None:
    _needs_mosquitto_passwd()
    install(tmp_path, "--with-mosquitto", "--station", "s1")
    passwd = tmp_path / "etc/mosquitto/repsled.passwd"
    assert passwd.stat().st_mode & 0o777 == 0o600
    lines = passwd.read_text().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["s1", "dashboard"]
    assert all(ln.split(":", 1)[1].startswith("$7$") for ln in lines)  # hashed, never plain
    passwd.chmod(0o644)  # as earlier versions left it
    out = install(tmp_path, "--with-mosquitto", "--station", "s1").stdout
    assert "-> make /etc/mosquitto/repsled.passwd readable by mosquitto only" in out
    assert passwd.stat().st_mode & 0o777 == 0o600


@pytest.mark.broker
def test_generated_passwords_log_in_to_a_real_broker(tmp_path: Path) -> None:
    """The hashes install.sh writes through `mosquitto_passwd -U` are ones mosquitto accepts."""
    _needs_mosquitto_passwd()
    from tests.mosquitto import Mosquitto

    root = tmp_path / "root"
    root.mkdir()
    install(root, "--with-mosquitto", "--station", "s1")
    passwd = root / "etc/mosquitto/repsled.passwd"
    logins = {
        "s1": (root / "etc/repsled/mqtt-password").read_text().strip(),
        "dashboard": (root / "etc/repsled/dashboard-password").read_text().strip(),
    }
    with Mosquitto(tmp_path / "broker", password_file=passwd) as broker:
        for user, password in [*logins.items(), ("s1", "wrong")]:
            assert _refused(broker, user, password) == (password == "wrong"), user


def _refused(broker: Any, user: str, password: str) -> bool:
    """Whether the broker's CONNACK refuses this login."""
    import threading

    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.username_pw_set(user, password)
    answered = threading.Event()
    codes: list[bool] = []

    def on_connect(_c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        codes.append(rc.is_failure)
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert answered.wait(10), "no CONNACK"
    finally:
        client.loop_stop()
        client.disconnect()
    return codes[0]


def test_a_hub_install_brings_back_a_deleted_link_too(
    tmp_path: Path, fake_python3: dict[str, str]
) -> None:
    """--hub shares the station's link step: an up-to-date venv does not skip the link check."""
    root = tmp_path / "root"
    root.mkdir()
    install(root, "--hub", venv=True, env=fake_python3)
    link = root / "usr/local/bin/repsled"
    assert os.readlink(link) == "/opt/repsled/venv/bin/repsled"
    link.unlink()
    repaired = install(root, "--hub", venv=True, env=fake_python3).stdout
    assert "-> link /usr/local/bin/repsled" in repaired
    assert os.readlink(link) == "/opt/repsled/venv/bin/repsled"
