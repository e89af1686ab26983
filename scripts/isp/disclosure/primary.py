"""Primary suppression: the cells that may not be published as they are.

- **Threshold rule**: counts from 1 to k-1 are hidden, k = ``profile.threshold``, or
  ``profile.site_threshold`` for a cell within one site. Zeros are published when
  ``profile.zeros_published`` (then every hidden cell is known to be at least 1); otherwise they
  are hidden too.
- **p% dominance rule** on agency contributions, one intruder: with an agency's figure in the
  cell as its contribution, sorted x1 >= x2 >= ..., the cell is unsafe when
  ``x3 + ... + xc < p/100 * x1``: the second-largest contributor could then estimate the largest
  to within p%. A cell one or two agencies make up is always unsafe for p > 0 (each could
  subtract its own figure and learn the other's). ``p = 0`` switches the rule off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from isp.protocol.models import DisclosureProfile

THRESHOLD = "threshold"
DOMINANCE = "dominance"


def threshold_unsafe(values: np.ndarray, site_level: np.ndarray, profile: DisclosureProfile) -> np.ndarray:
    """Cells the threshold rule hides (``values`` are true counts)."""
    k = np.where(site_level, profile.site_threshold, profile.threshold)
    unsafe = (values >= 1) & (values < k)
    if not profile.zeros_published:
        unsafe |= values == 0
    return np.asarray(unsafe)


def p_percent_unsafe(contributions: Sequence[float], p: float) -> bool:
    """The p% rule for one cell: True when ``x3 + ... < p/100 * x1`` (one intruder)."""
    return bool(dominance_unsafe(np.asarray([contributions], dtype=float), p)[0])


def dominance_unsafe(contrib: np.ndarray, p: float) -> np.ndarray:
    """Cells (rows of ``contrib``: one column per agency) the p% rule hides."""
    if p <= 0 or contrib.size == 0:
        return np.zeros(contrib.shape[0], bool)
    ordered = -np.sort(-contrib, axis=1)
    largest = ordered[:, 0]
    others = ordered[:, 2:].sum(axis=1)
    return np.asarray((largest > 0) & (others < p / 100 * largest))


def reasons(
    values: np.ndarray, site_level: np.ndarray, contrib: np.ndarray | None, profile: DisclosureProfile
) -> np.ndarray:
    """Per cell: ``"threshold"``, ``"dominance"`` or ``""`` (publishable)."""
    out = np.full(len(values), "", dtype=object)
    if contrib is not None:
        out[dominance_unsafe(contrib, profile.dominance_p)] = DOMINANCE
    out[threshold_unsafe(values, site_level, profile)] = THRESHOLD
    return out
