"""``isp site build``: the English site, then the Arabic one in ``ar/``, in this process.

MkDocs runs in-process so that both builds share one decryption of the aggregates (see
:class:`isp.site.hooks.Session`). MkDocs' own log lines (never page content) go to stderr;
``strict`` turns any warning into a failure, as ``mkdocs build --strict`` does.
"""

from __future__ import annotations

import gzip
import logging
import os
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from isp.errors import IspError
from isp.site import hooks, mkdocs_hooks
from isp.site.labels import LANGUAGES

CONFIG = "mkdocs.yml"
HOOKS = str(Path(mkdocs_hooks.__file__).resolve())  # the package's hooks, never a file of the repository
DEFAULT_OUT = Path("build/site")
KEY_VARIABLES = ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE")


@dataclass
class BuildReport:
    out: Path
    seconds: float
    languages: list[str] = field(default_factory=list)
    pages: int = 0


class _StderrHandler(logging.Handler):
    """Warnings (and progress when verbose) to stderr; errors kept for the one-line failure."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())
            return
        level = "warning" if record.levelno == logging.WARNING else "info"
        sys.stderr.write(f"{level}: {record.getMessage()}\n")


def _site_dir(out: Path, lang: str) -> Path:
    return out if lang == LANGUAGES[0] else out / lang


def build_site(root: Path, out: Path | None = None, strict: bool = False, verbose: bool = False) -> BuildReport:
    """Build every language of the site under ``out`` (default: build/site in the repository).

    With an age key in the environment, the aggregates and passphrases are decrypted here, and
    MkDocs then runs in a child process whose environment holds no key (the prepared session
    reaches it through a pipe, never a file): nothing MkDocs runs or copies can read the key, not
    even through /proc/self/environ."""
    root = root.resolve()
    if not (root / CONFIG).exists():
        raise IspError(f"{root / CONFIG} does not exist: this is not an ISP repository (see `isp init`)")
    out = (out or root / DEFAULT_OUT).resolve()
    start = time.monotonic()
    session = hooks.Session()
    if any(os.environ.get(name) for name in KEY_VARIABLES):
        try:
            hooks.check_plugins(load_config(str(root / CONFIG), hooks=[HOOKS]))
            hooks.prepare(root, session)
        except (IspError, MkDocsException) as exc:
            raise IspError(f"the site was not built: {exc}") from None
        _build_in_child(root, out, strict, verbose, session)
    else:
        _build(root, out, strict, verbose, session)
    count = len(session.generator.pages("en")) if session.generator else 0
    return BuildReport(out, time.monotonic() - start, list(LANGUAGES), count)


def _build(root: Path, out: Path, strict: bool, verbose: bool, session: hooks.Session) -> None:
    logger = logging.getLogger("mkdocs")
    handler = _StderrHandler(logging.INFO if verbose else logging.WARNING)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    hooks.use_session(session)
    try:
        for lang in LANGUAGES:  # English first: its clean-up would delete ar/
            session.lang = lang
            config = load_config(str(root / CONFIG), site_dir=str(_site_dir(out, lang)), strict=strict, hooks=[HOOKS])
            mkdocs_build(config)
    except MkDocsException as exc:
        reason = handler.errors[-1] if handler.errors else str(exc)
        raise IspError(f"the site was not built: {reason}") from None
    finally:
        hooks.use_session(None)
        logger.removeHandler(handler)
        logger.setLevel(previous)


_CHILD_ERROR = "isp-site-build-error: "


def _build_in_child(root: Path, out: Path, strict: bool, verbose: bool, session: hooks.Session) -> None:
    env = {name: value for name, value in os.environ.items() if name not in KEY_VARIABLES}
    code = "from isp.site.build import child_main; child_main()"
    args = [sys.executable, "-c", code, str(root), str(out), str(int(strict)), str(int(verbose))]
    proc = subprocess.run(args, input=pickle.dumps(session), env=env, stderr=subprocess.PIPE, check=False)
    lines = proc.stderr.decode("utf-8", "replace").splitlines()
    reasons = [line[len(_CHILD_ERROR) :] for line in lines if line.startswith(_CHILD_ERROR)]
    for line in lines:
        if not line.startswith(_CHILD_ERROR):
            sys.stderr.write(line + "\n")
    if proc.returncode != 0:
        raise IspError(reasons[-1] if reasons else f"the site was not built (exit {proc.returncode})")


def child_main() -> None:
    """The MkDocs half of ``isp site build``: the session comes prepared on stdin (pickled by the
    parent, which alone holds the key); this process's environment has no key."""
    root, out, strict, verbose = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
    session = pickle.loads(sys.stdin.buffer.read())  # from our own parent, through a pipe
    try:
        _build(Path(root), Path(out), strict, verbose, session)
    except IspError as exc:
        sys.stderr.write(f"{_CHILD_ERROR}{exc}\n")
        sys.exit(1)


def page_weight(site_dir: Path, page: Path) -> dict[str, int]:
    """Bytes a browser fetches for ``page`` (HTML plus its local scripts and styles), raw and gzipped."""
    import re

    html = page.read_text(encoding="utf-8")
    assets = {page}
    for ref in re.findall(r'(?:src|href)="([^"#?]+\.(?:js|css|mjs))(?:\?[^"]*)?"', html):
        target = (page.parent / ref).resolve()
        if target.is_file() and target.is_relative_to(site_dir.resolve()):
            assets.add(target)
    for ref in re.findall(r'import\("([^"]+\.js)"\)', html):
        target = (page.parent / ref).resolve()
        if target.is_file():
            assets.add(target)
    raw = sum(path.stat().st_size for path in assets)
    zipped = sum(len(gzip.compress(path.read_bytes(), 9)) for path in assets)
    return {"files": len(assets), "bytes": raw, "gzip_bytes": zipped}
