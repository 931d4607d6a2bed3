"""SMBusI2C: busio.I2C's methods on smbus2 combined transfers, as I2CDevice uses them."""

from __future__ import annotations

import errno

import pytest
from smbus2.smbus2 import I2C_M_RD

from sensor.fake_vl53l0x import FakeBusFactory, FakeSMBus, FakeVL53L0X
from sensor.i2c import SMBusI2C
from sensor.vl53l0x import _import_driver


class RecordingBus:
    """Answers reads with a counter pattern and records every transfer."""

    def __init__(self, present: tuple[int, ...] = (0x29,)) -> None:
        self.present = present
        self.transfers: list[list[tuple[int, bool, bytes]]] = []
        self.closed = 0

    def i2c_rdwr(self, *msgs) -> None:
        record = []
        for msg in msgs:
            if msg.addr not in self.present:
                raise OSError(errno.EREMOTEIO, "Remote I/O error")
            if msg.flags & I2C_M_RD:
                for i in range(msg.len):
                    msg.buf[i] = bytes([0xA0 + i])
                record.append((msg.addr, True, bytes(msg)))
            else:
                record.append((msg.addr, False, bytes(msg)))
        self.transfers.append(record)

    def close(self) -> None:
        self.closed += 1


def _adapter(bus: RecordingBus) -> SMBusI2C:
    return SMBusI2C(3, lambda number: bus if number == 3 else None)


def test_writeto_sends_the_slice_in_one_message() -> None:
    bus = RecordingBus()
    i2c = _adapter(bus)
    i2c.writeto(0x29, bytearray(b"\x01\x02\x03\x04"), start=1, end=3)
    i2c.writeto(0x29, b"\x05")
    assert bus.transfers == [[(0x29, False, b"\x02\x03")], [(0x29, False, b"\x05")]]


def test_readfrom_into_fills_only_the_slice() -> None:
    bus = RecordingBus()
    i2c = _adapter(bus)
    buffer = bytearray(5)
    i2c.readfrom_into(0x29, buffer, start=1, end=4)
    assert buffer == bytearray(b"\x00\xa0\xa1\xa2\x00")
    i2c.readfrom_into(0x29, buffer)
    assert buffer == bytearray(b"\xa0\xa1\xa2\xa3\xa4")


def test_writeto_then_readfrom_is_one_combined_transfer() -> None:
    bus = RecordingBus()
    i2c = _adapter(bus)
    buffer = bytearray(3)
    i2c.writeto_then_readfrom(0x29, b"\xff\xc0", buffer, out_start=1, in_end=2)
    assert bus.transfers == [[(0x29, False, b"\xc0"), (0x29, True, b"\xa0\xa1")]]
    assert buffer == bytearray(b"\xa0\xa1\x00")


def test_nack_is_the_kernels_oserror() -> None:
    i2c = _adapter(RecordingBus(present=()))
    with pytest.raises(OSError) as info:
        i2c.writeto(0x29, b"\x00")
    assert info.value.errno == errno.EREMOTEIO


def test_scan_lists_acknowledging_addresses() -> None:
    bus = RecordingBus(present=(0x29, 0x3C))
    assert _adapter(bus).scan() == [0x29, 0x3C]
    assert all(len(t) == 1 and t[0][1] for t in bus.transfers)  # reads only


def test_lock_is_exclusive_until_unlocked() -> None:
    i2c = _adapter(RecordingBus())
    assert i2c.try_lock()
    assert not i2c.try_lock()
    i2c.unlock()
    assert i2c.try_lock()
    i2c.unlock()


def test_deinit_closes_once_and_later_use_fails() -> None:
    bus = RecordingBus()
    i2c = _adapter(bus)
    with i2c:
        pass
    i2c.deinit()
    assert bus.closed == 1
    with pytest.raises(OSError, match="closed"):
        i2c.writeto(0x29, b"\x00")


def test_zero_length_write_refusal_reaches_the_caller() -> None:
    """On a Pi 5 the controller refuses a zero-length message: the adapter must not hide it."""
    chip = FakeVL53L0X(lambda t: 100, lambda: 0.0)
    i2c = SMBusI2C(1, FakeBusFactory(chip, zero_length_write_fails=True))
    with pytest.raises(OSError) as info:
        i2c.writeto(0x29, b"")
    assert info.value.errno == errno.EOPNOTSUPP
    i2c.readfrom_into(0x29, bytearray(1))  # a one-byte read still works


@pytest.mark.parametrize("zero_length_write_fails", [False, True])
def test_i2cdevice_probe_finds_the_chip_either_way(zero_length_write_fails: bool) -> None:
    _import_driver()  # imports adafruit_bus_device without Blinka's board detection
    from adafruit_bus_device.i2c_device import I2CDevice

    chip = FakeVL53L0X(lambda t: 100, lambda: 0.0)
    bus = FakeSMBus(1, {0x29: chip}, zero_length_write_fails=zero_length_write_fails)
    i2c = SMBusI2C(1, lambda n: bus)
    device = I2CDevice(i2c, 0x29)
    out = bytearray(1)
    with device:
        device.write_then_readinto(b"\xc0", out)
    assert out[0] == 0xEE
    with pytest.raises(ValueError, match="No I2C device at address: 0x30"):
        I2CDevice(i2c, 0x30)
    assert i2c.try_lock()  # the failed probe released the lock
    i2c.unlock()
