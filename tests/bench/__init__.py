"""On-demand benchmarks (``make bench``); they print rates and ratios and assert nothing about speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def rate(fn: Callable[[list[str]], Any], texts: list[str]) -> float:
    """Texts per second of one ``fn(texts)`` call (wall clock)."""
    started = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - started)
