"""Large buffers handed back to the system as soon as they are freed, where the C library is glibc.

A job allocates and frees megabytes per batch (request bodies, model answers, output parts).
glibc serves the first such buffer with mmap, then raises its mmap threshold to that buffer's
size (up to 32 MiB), so every later one comes from the heap, which fragments and keeps what was
freed: the process's peak memory then creeps up with the size of the object. A fixed threshold
turns that adaptation off: buffers over it are mapped on allocation and unmapped on free.
"""

from __future__ import annotations

import ctypes

# Above the 1 MiB read chunks (they churn fast and reuse the heap well); a batch, an answer or a
# part is larger once MaxPayloadInMB is a few MiB.
MMAP_THRESHOLD = 2 * 1024 * 1024
M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def return_large_buffers(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold for this process; False (and nothing done) without glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # this process's own C library
    except (OSError, AttributeError):  # no mallopt: not glibc (macOS, Windows)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
