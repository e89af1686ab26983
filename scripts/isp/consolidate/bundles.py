"""Where a stale agency year file's figures come from.

A year file holds every period of one agency's year, each computed from that agency's months
(:meth:`isp.consolidate.compute.Block.agency`). A month comes either from its submission,
decrypted, or, when that submission has not changed since the previous year file was written,
from that file's monthly rows read back: an agency's monthly table is exactly its submission (the
same cells, the same counts; its national rows are recomputed, not read).

Which is cheaper? The cost of a decryption is one sops process (start-up and unwrapping the data
key), which dwarfs parsing a few thousand rows; the year file is some twenty tables in one
process. So the previous file is read back when it replaces at least two decryptions of unchanged
months that the run would not make anyway for the consolidated outputs; otherwise the
submissions are decrypted (with one month to save, one process either way, and the submission is
the smaller file). A new or resubmitted month is always decrypted. Nothing is read back under
``--full``, after a recipe change, or when the file is not the one its manifest entry recorded
(:func:`isp.consolidate.plan.build` keeps only trustworthy entries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isp.consolidate.inputs import Submission
from isp.consolidate.plan import Bundle

MIN_SAVED = 2  # decryptions a read-back must save to be worth its own


@dataclass(frozen=True)
class BundleSource:
    """A stale year file: the submissions to decrypt for it, and the months read back instead."""

    bundle: Bundle
    decrypt: tuple[Submission, ...]
    reuse: tuple[Submission, ...]


def unchanged(bundle: Bundle, previous: dict[str, Any] | None) -> list[Submission]:
    """The bundle's submissions whose month the previous file holds from this very ciphertext."""
    recorded = (previous or {}).get("month_inputs") or {}
    return [sub for sub in bundle.inputs if recorded.get(sub.month) == sub.sha256]


def choose(bundle: Bundle, previous: dict[str, Any] | None, decrypted_anyway: set[Submission]) -> BundleSource:
    """Read the previous file back only when that saves at least ``MIN_SAVED`` decryptions."""
    saved = [sub for sub in unchanged(bundle, previous) if sub not in decrypted_anyway]
    if len(saved) < MIN_SAVED:
        return BundleSource(bundle, bundle.inputs, ())
    reuse = set(saved)
    return BundleSource(bundle, tuple(s for s in bundle.inputs if s not in reuse), tuple(saved))
