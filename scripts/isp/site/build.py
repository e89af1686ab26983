"""``isp site build``: the English site, then the Arabic one in ``ar/``, in this process.

MkDocs runs in-process so that both builds share one decryption of the aggregates (see
:class:`isp.site.hooks.Session`). MkDocs' own log lines (never page content) go to stderr;
``strict`` turns any warning into a failure, as ``mkdocs build --strict`` does.
"""

from __future__ import annotations

import gzip
import logging
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
    """Build every language of the site under ``out`` (default: build/site in the repository)."""
    root = root.resolve()
    if not (root / CONFIG).exists():
        raise IspError(f"{root / CONFIG} does not exist: this is not an ISP repository (see `isp init`)")
    out = (out or root / DEFAULT_OUT).resolve()
    logger = logging.getLogger("mkdocs")
    handler = _StderrHandler(logging.INFO if verbose else logging.WARNING)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    session = hooks.Session()
    hooks.use_session(session)
    start = time.monotonic()
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
    count = len(session.generator.pages("en")) if session.generator else 0
    return BuildReport(out, time.monotonic() - start, list(LANGUAGES), count)


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
