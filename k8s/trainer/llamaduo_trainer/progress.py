"""Machine-readable events on stdout (one JSON object a line); human logs go to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    sys.stderr.write(f"[llamaduo-trainer] {message}\n")
    sys.stderr.flush()


class Eta:
    """Remaining seconds from the average pace since start (steps are roughly uniform in cost)."""

    def __init__(self, total_steps: int, start_step: int, start_time: float) -> None:
        self.total = total_steps
        self.start_step = start_step
        self.start_time = start_time

    def seconds(self, step: int, now: float) -> float | None:
        done = step - self.start_step
        if done <= 0:
            return None
        return round((now - self.start_time) / done * (self.total - step), 1)
