"""CPU cost of one reading through the real driver, the smbus2 adapter and the fake chip.

The demo and `fake:TRACE.csv` replays at --speed N pay this per sample, so it bounds how fast a
trace can be played. Prints figures; asserts nothing.
"""

from __future__ import annotations

import math
import time

from firmware.clock import FakeClock
from sensor.fake_vl53l0x import fake_source

READS = 5_000
STARTS = 50


def main() -> None:
    clock = FakeClock()
    source, chip = fake_source(lambda t_s: 300 + int(200 * math.sin(t_s)), clock)

    cpu0 = time.process_time()
    for _ in range(STARTS):
        source.start()
    start_cpu_s = (time.process_time() - cpu0) / STARTS
    start_transfers = chip.transfers

    transfers0 = chip.transfers
    cpu0 = time.process_time()
    for _ in range(READS):
        source.read_mm()
    read_cpu_s = (time.process_time() - cpu0) / READS
    per_read = (chip.transfers - transfers0) / READS
    source.close()

    budget_s = chip.measurement_period_s
    print(f"start():   {start_cpu_s * 1e3:8.3f} ms CPU  ({start_transfers / STARTS:.0f} transfers)")
    print(f"read_mm(): {read_cpu_s * 1e6:8.1f} us CPU  ({per_read:.1f} transfers)")
    print(f"budget:    {budget_s * 1e3:8.3f} ms per measurement")
    print(f"max replay speed on one core: about {budget_s / read_cpu_s:,.0f}x real time")


if __name__ == "__main__":
    main()
