"""The canonical tidy form of a tracking sheet (contract): one row per cell.

``month,site,indicator,sex,age_group,nationality,count``: UTF-8, LF line ends, rows sorted, no
index, ``count`` a non-negative integer. Submissions are stored (encrypted) in exactly this form,
so the same figures always give the same bytes.
"""

from __future__ import annotations

import io

import pandas as pd

KEY_COLUMNS = ["month", "site", "indicator", "sex", "age_group", "nationality"]
COLUMNS = [*KEY_COLUMNS, "count"]
DIMENSIONS = ["sex", "age_group", "nationality"]


def to_csv(frame: pd.DataFrame) -> bytes:
    """Canonical bytes for a tidy frame (sorted, integer counts)."""
    out = frame[COLUMNS].sort_values(KEY_COLUMNS, kind="mergesort").reset_index(drop=True)
    out["count"] = out["count"].astype("int64")
    text: str = out.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def read_csv(data: bytes) -> pd.DataFrame:
    """Parse canonical bytes (already validated) into a frame with string keys and int counts."""
    frame = pd.read_csv(io.BytesIO(data), dtype={c: "string" for c in KEY_COLUMNS}, keep_default_na=False)
    frame["count"] = frame["count"].astype("int64")
    return frame
