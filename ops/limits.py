"""RATE_LIMIT's value, parsed: settings read it, so nothing here may import Django's database."""

from __future__ import annotations

from dataclasses import dataclass

PERIODS = {"second": 1, "minute": 60, "hour": 3600}


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens a second
    burst: int

    @classmethod
    def parse(cls, text: str, burst: int | None) -> Limit | None:
        """ "60/minute" → 1 token a second, burst 60 unless given; "" or "off" → no limit."""
        if text.strip().lower() in ("", "off"):
            return None
        count, _, period = text.partition("/")
        if not count.strip().isdigit() or int(count) < 1 or period.strip() not in PERIODS:
            raise ValueError(
                f"RATE_LIMIT must look like 60/minute (per second|minute|hour), not {text!r}"
            )
        count = int(count)
        return cls(rate=count / PERIODS[period.strip()], burst=burst or count)
