"""The `isp` command starts light: every command pays for the imports of all of them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy", "openpyxl", "playwright", "mkdocs")


def test_loading_the_command_line_imports_no_heavy_library() -> None:
    """`isp ci pr` took 1.4 s longer when one command module imported the release stack (scipy)
    at start-up: heavy libraries load inside the commands that need them."""
    code = f"import sys, isp.cli.main; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not found, f"imported when the command line loads: {found}"
