"""Write clicks.jsonl, the sample input of the sessions example (deterministic: seed 11).

Each line is a click, ``{"ts": milliseconds, "user": "...", "page": "..."}``. Users browse in
bursts: clicks a few seconds apart, bursts separated by pauses that are mostly much longer than
the 30 s session gap, some just under or just over it. Clicks arrive up to 4 s out of order (the
example's watermark trails by 5 s), and a few arrive minutes late.

    python examples/sessions/generate_clicks.py > examples/sessions/clicks.jsonl
"""

from __future__ import annotations

import json
import random
import sys

SEED = 11
USERS = 25
START_MS = 1_704_103_200_000  # 2024-01-01 10:00:00 UTC
HOUR_MS = 3_600_000
PAGES = ("home", "search", "product", "cart", "checkout", "help", "account")
LATE_CLICKS = 4


def clicks(rng: random.Random) -> list[dict[str, object]]:
    """Every click in arrival order."""
    events: list[tuple[int, int, dict[str, object]]] = []  # (arrival, tie-break, click)
    for number in range(USERS):
        user = f"user{number:02d}"
        ts = START_MS + rng.randrange(0, 10 * 60_000)
        while ts < START_MS + HOUR_MS:
            for _ in range(rng.randint(1, 8)):
                page = rng.choice(PAGES)
                events.append(
                    (
                        ts + rng.randrange(0, 4_000),
                        len(events),
                        {"ts": ts, "user": user, "page": page},
                    )
                )
                ts += rng.randrange(500, 20_000)
            ts += rng.choice((rng.randrange(25_000, 35_000), rng.randrange(60_000, 900_000)))
    events.sort(key=lambda event: (event[0], event[1]))
    ordered = [click for _, _, click in events]
    for _ in range(LATE_CLICKS):  # a click held back for minutes: late, to the side output
        index = rng.randrange(len(ordered) // 4, len(ordered) // 2)
        late = ordered.pop(index)
        ordered.insert(index + 400, late)
    return ordered


def main() -> None:
    for click in clicks(random.Random(SEED)):
        sys.stdout.write(json.dumps(click) + "\n")


if __name__ == "__main__":
    main()
