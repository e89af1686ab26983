"""``isp site serve``: the built static site on 127.0.0.1 (WebCrypto needs localhost or HTTPS).

It serves files only; it never builds or decrypts anything.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from isp.errors import IspError

HOST = "127.0.0.1"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def server(directory: Path, port: int = 8000, quiet: bool = True) -> ThreadingHTTPServer:
    """An HTTP server for ``directory`` bound to 127.0.0.1 (port 0 picks a free one)."""
    if not (directory / "index.html").exists():
        raise IspError(f"{directory}: no built site here: run `isp site build` first")
    handler = functools.partial(_QuietHandler if quiet else SimpleHTTPRequestHandler, directory=str(directory))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise IspError(f"cannot listen on {HOST}:{port}: {exc.strerror}: choose another --port") from None


def url(httpd: ThreadingHTTPServer) -> str:
    return f"http://{HOST}:{httpd.server_address[1]}/"


def in_thread(directory: Path, port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve in a daemon thread (tests, demos); stop with ``httpd.shutdown()``."""
    httpd = server(directory, port)
    thread = threading.Thread(target=httpd.serve_forever, name="isp-site", daemon=True)
    thread.start()
    return httpd, thread
