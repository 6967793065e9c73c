"""Does the first line of a CSV look like a header row? (SageMaker would send it as a record.)"""

from __future__ import annotations

import csv
import io
import re

# Plain decimal numbers only: float() would also take "nan", "inf" and "infinity".
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _numeric(cell: str) -> bool:
    return bool(_NUMBER.fullmatch(cell.strip()))


def looks_like_header(sample: str) -> bool:
    """A header has no numeric cell, while the next row has numbers in some of those columns."""
    rows = list(csv.reader(io.StringIO(sample)))
    if len(rows) < 2 or not rows[0]:
        return False
    first, second = rows[0], rows[1]
    if any(_numeric(cell) for cell in first) or not all(cell.strip() for cell in first):
        return False
    return any(
        _numeric(below) and not _numeric(above) for above, below in zip(first, second, strict=False)
    )
