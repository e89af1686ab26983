"""sha256 of files, remembered between runs by size, modification time and inode, as git's index
does, so that an incremental run does not re-read a gigabyte of unchanged ciphertext.

The cache lives inside .git/ (never committed; absent outside a git repository, where every file
is hashed). Entries younger than a couple of seconds are not kept: a file rewritten within the
file system's time resolution could otherwise keep a stale hash ("racy git").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from pathlib import Path

from isp.fsutil import write_text_atomic

CACHE = ".git/isp-consolidate-hashes.json"
RACY_NS = 2_000_000_000

Entry = list[int | str]  # [size, mtime_ns, inode, sha256]


class Hashes:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / CACHE if (root / ".git").is_dir() else None
        self._known = self._load()
        self._seen: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Entry]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return {}
        return data if isinstance(data, dict) else {}

    def of(self, rel: str) -> str | None:
        """The sha256 of ``rel`` (None when there is no such file). Safe from worker threads."""
        try:
            stat = (self.root / rel).stat()
        except FileNotFoundError:
            return None
        stamp: Entry = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        known = self._known.get(rel)
        if known and known[:3] == stamp:
            digest = str(known[3])
        else:
            digest = hashlib.sha256((self.root / rel).read_bytes()).hexdigest()
        with self._lock:
            self._seen[rel] = [*stamp, digest]
        return digest

    def save(self) -> None:
        """Keep what this run hashed, except entries too recent to trust."""
        if self.path is None:
            return
        cutoff = time.time_ns() - RACY_NS
        keep = {rel: entry for rel, entry in sorted(self._seen.items()) if int(entry[1]) < cutoff}
        with contextlib.suppress(OSError):  # a cache: losing it costs time, never correctness
            write_text_atomic(self.path, json.dumps(keep, separators=(",", ":")))
