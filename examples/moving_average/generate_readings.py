"""Write readings.jsonl, the sample input of the moving_average example (deterministic: seed 7).

Each line is a sensor reading, ``{"ts": seconds, "sensor": "...", "celsius": 21.4}`` (one
decimal). Eight sensors report every 4 to 12 s for half an hour, temperatures drifting slowly.
Readings arrive up to 8 s out of order (the example's watermark trails by 10 s), and a few
arrive minutes late.

    python examples/moving_average/generate_readings.py > examples/moving_average/readings.jsonl
"""

from __future__ import annotations

import json
import random
import sys

SEED = 7
SENSORS = 8
START = 1_704_103_200  # 2024-01-01 10:00:00 UTC
DURATION = 1_800
LATE_READINGS = 5


def readings(rng: random.Random) -> list[dict[str, object]]:
    """Every reading in arrival order."""
    events: list[tuple[int, int, dict[str, object]]] = []  # (arrival, tie-break, reading)
    for number in range(SENSORS):
        sensor = f"sensor-{number}"
        tenths = rng.randrange(150, 260)
        ts = START + rng.randrange(0, 12)
        while ts < START + DURATION:
            tenths += rng.randint(-3, 3)
            reading = {"ts": ts, "sensor": sensor, "celsius": tenths / 10}
            events.append((ts + rng.randrange(0, 9), len(events), reading))
            ts += rng.randrange(4, 13)
    events.sort(key=lambda event: (event[0], event[1]))
    ordered = [reading for _, _, reading in events]
    for _ in range(LATE_READINGS):  # a reading held back for minutes: late, to the side output
        index = rng.randrange(len(ordered) // 4, len(ordered) // 2)
        late = ordered.pop(index)
        ordered.insert(index + 500, late)
    return ordered


def main() -> None:
    for reading in readings(random.Random(SEED)):
        sys.stdout.write(json.dumps(reading) + "\n")


if __name__ == "__main__":
    main()
