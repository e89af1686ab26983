"""Entry point: builds the Typer app from one module per command group, maps errors to exit codes.

Exit codes (contract): 0 success, 1 a rule or validation failure, 2 a usage error, 3 a bug in isp
(any other exception: one line naming its type only, never its message, which may hold a value;
``ISP_DEBUG=1`` shows the traceback). 3 is pre-commit's code for the same case, so a script can
tell a broken rule from a broken tool.
"""

from __future__ import annotations

import os
import sys

import typer

from isp import errors
from isp.cli import (
    activityinfo_cmd,
    ci_cmd,
    consolidate_cmd,
    deadlines_cmd,
    demo_cmd,
    disclosure_cmd,
    errors_cmd,
    governance_cmd,
    init_cmd,
    keys_cmd,
    notify_cmd,
    protocol_cmd,
    release_cmd,
    remind_cmd,
    request_cmd,
    sheet_cmd,
    site_cmd,
    status_cmd,
)
from isp.errors import IspError

# One module per command group; each defines ``register(app)``. The order is the order of --help.
COMMAND_MODULES = (
    init_cmd,
    protocol_cmd,
    deadlines_cmd,
    keys_cmd,
    sheet_cmd,
    status_cmd,
    ci_cmd,
    consolidate_cmd,
    disclosure_cmd,
    request_cmd,
    governance_cmd,
    release_cmd,
    remind_cmd,
    notify_cmd,
    activityinfo_cmd,
    site_cmd,
    demo_cmd,
    errors_cmd,
)

app = typer.Typer(
    name="isp",
    help="Run the Jordan child-protection Information Sharing Protocol from a Git repository.\n\n"
    "Start with `isp demo DIR --serve` to see a complete synthetic ISP, or `isp init DIR` for a new one.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)

for _module in COMMAND_MODULES:
    _module.register(app)


def _print_error(exc: IspError) -> None:
    lines = exc.lines()
    for line in lines:
        sys.stderr.write(f"{line}\n")
    if len(lines) > 1 or str(exc) not in lines:
        sys.stderr.write(f"{exc}\n")


def _print_bug(exc: Exception) -> None:
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    problem = errors.Problem.of(errors.BUG, "isp", exception=name, tracker=errors.issue_tracker())
    sys.stderr.write(f"{problem}\n")


def run(argv: list[str] | None = None) -> None:
    """Console-script entry: one plain line per problem, never a traceback unless ISP_DEBUG=1.

    Typer (standalone mode) already turns usage errors into exit code 2 (they never reach us);
    our own errors are mapped here, and anything else is a bug in isp: one line, exit code 3.
    """
    debug = os.environ.get("ISP_DEBUG") == "1"
    try:
        app(args=argv, prog_name="isp")
    except IspError as exc:
        if debug:
            raise
        _print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing was half-written (writes are atomic)\n")
        sys.exit(130)
    except Exception as exc:  # the boundary: whatever escaped every command is a bug in isp
        if debug:
            raise
        _print_bug(exc)
        sys.exit(errors.BUG.exit_code)
