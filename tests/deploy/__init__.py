"""Tests of deploy/, systemd/ and firmware.sdnotify."""
