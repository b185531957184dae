"""Timing helper shared by the benchmarks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def best_time(function: Callable[[], object], repeat: int) -> float:
    """Return the shortest of ``repeat`` wall-clock runs of ``function``, in seconds."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best
