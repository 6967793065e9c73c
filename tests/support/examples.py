"""How many examples a property test draws: its own count, scaled by TEST_EXAMPLES_SCALE.

`make test` runs every count in full; `make test-unit`, the quick loop while editing, draws a
quarter of each (at least 10), so the tier stays under a minute.
"""

from __future__ import annotations

import os


def examples(count: int) -> int:
    scale = float(os.environ.get("TEST_EXAMPLES_SCALE") or 1)
    return max(10, round(count * scale)) if scale < 1 else count
