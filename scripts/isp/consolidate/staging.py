"""Writing outputs so that a run killed at any moment leaves the last good state.

Every new output (a consolidated table, an agency's year file) is encrypted and written to a
temporary name beside its target while the run works; only when all are ready are they renamed
into place, one quick rename each, and the manifests are written after that. A run killed
before the renames leaves the previous aggregates untouched (its temporary files, ciphertext
only, are removed by the next run); one killed during the renames leaves outputs that no longer
match their manifest entry's hash, which the next run redoes. Outputs no longer made (the
per-period agency files of the earlier layout among them) are removed only after the renames
and the manifests, so a run killed before that leaves them for the next run (:func:`orphans`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from isp.consolidate import codec
from isp.consolidate.manifest import AGGREGATES
from isp.crypto import sops
from isp.crypto.keys import AGENCY_OUTPUTS
from isp.errors import IspError
from isp.protocol.periods import PERIOD_KINDS

TEMP_GLOB = ".*.tmp"


class Staging:
    """New outputs waiting, under temporary names, to be renamed into place together."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._temps: dict[str, Path] = {}
        self._lock = threading.Lock()

    def stage(self, rel: str, plaintext: bytes) -> str:
        """Encrypt ``plaintext`` for ``rel``'s recipients and write it beside ``rel``; returns the
        sha256 of the ciphertext. Safe to call from worker threads."""
        envelope = sops.encrypt(self.root, rel, codec.pack(plaintext))
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with self._lock:
            self._temps[rel] = Path(name)
        with os.fdopen(fd, "wb") as handle:
            handle.write(envelope)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
        return hashlib.sha256(envelope).hexdigest()

    def commit(self) -> None:
        """Rename every staged output into place."""
        for rel, temp in sorted(self._temps.items()):
            os.replace(temp, self.root / rel)
        self._temps.clear()

    def discard(self) -> None:
        for temp in self._temps.values():
            temp.unlink(missing_ok=True)
        self._temps.clear()


def output_folders(root: Path) -> list[Path]:
    """Every folder outputs are written to: aggregates/<kind>/ and aggregates/agency/<A>/ (its
    year files), and the aggregates/agency/<A>/<kind>/ of the earlier per-period layout, whose
    files a run removes."""
    agencies = sorted(p for p in (root / AGENCY_OUTPUTS).glob("*") if p.is_dir())
    owners = [root / AGGREGATES, *agencies]
    kinds = [owner / kind for owner in owners for kind in PERIOD_KINDS if (owner / kind).is_dir()]
    return [*kinds, *agencies]


def remove_leftovers(root: Path) -> int:
    """Remove temporary files a killed run left behind (ciphertext only); returns how many."""
    folders = [root / AGGREGATES, *output_folders(root)]
    leftovers = [path for folder in folders for path in folder.glob(TEMP_GLOB) if path.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


def orphans(root: Path, made: set[str]) -> list[str]:
    """Output files that no output spec makes any more (rel paths)."""
    found = [p.relative_to(root).as_posix() for folder in output_folders(root) for p in folder.glob("*.csv")]
    return sorted(rel for rel in found if rel not in made)


def remove(root: Path, rels: list[str]) -> None:
    """Remove outputs no longer made, then the period folders they leave empty (an agency's
    monthly/, quarterly/... of the per-period layout, once migrated to year files)."""
    for rel in rels:
        (root / rel).unlink(missing_ok=True)
    for folder in sorted({(root / rel).parent for rel in rels}):
        if folder.name in PERIOD_KINDS and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """One consolidation at a time per repository (an advisory lock on the aggregates folder)."""
    folder = root / AGGREGATES
    folder.mkdir(exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IspError(f"{AGGREGATES}/: another `isp consolidate` is running on this repository") from None
        yield
    finally:
        os.close(fd)
