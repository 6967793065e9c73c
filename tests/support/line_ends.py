"""CSV bytes as generated, or made LF or CRLF throughout."""

from __future__ import annotations

from hypothesis import strategies as st

# Line ends as generated, or made LF or CRLF throughout (still CSV: only CRs are taken out).
LINE_ENDS = st.sampled_from(["mixed", "LF", "CRLF"])


def with_line_ends(data: bytes, ends: str) -> bytes:
    if ends == "mixed":
        return data
    lf = data.replace(b"\r", b"")
    return lf if ends == "LF" else lf.replace(b"\n", b"\r\n")
