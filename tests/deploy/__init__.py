"""Tests of deploy/, systemd/ and firmware.station.sdnotify."""
