"""`isp disclosure audit` and `isp disclosure protect`: the attacker's audit on any published table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, ok, table
from isp.errors import IspError
from isp.protocol import loading
from isp.protocol.models import DisclosureProfile

app = typer.Typer(help="Disclosure control: audit or protect a published table (cross-tab CSV).", no_args_is_help=True)

TableArg = Annotated[Path, typer.Argument(help="A cross-tab CSV (format: see `isp disclosure audit --help`).")]
ProfileOption = Annotated[str, typer.Option("--profile", help="Disclosure profile from protocol.yaml.")]

FORMAT = """
The table is a cross-tab CSV: the first header cell names the row dimension (optionally
`ROWS \\ COLUMNS`), the other header cells are column codes, the first cell of each row is its
code; a row or column named `Total` is a margin; a suppressed cell is empty or `x`:

```
site \\ sex,F,M,Total
JO11,12,x,20
JO22,x,x,14
Total,30,25,55
```
"""


@app.command()
def audit(
    file: TableArg,
    profile: ProfileOption = "external",
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Audit a published table: what an attacker can derive about each suppressed cell.

    For every suppressed cell, the smallest and largest value consistent with the published
    cells (an integer program per cell), and every published count the threshold rule forbids.
    Without the true figures a suppressed cell must stay uncertain over at least the profile's
    protection width. Exit 1 with one line per violation (cell, interval found, what is needed).

    Example: `isp disclosure audit release/new-cases-by-site.csv --profile external`
    """
    rules = _profile(repo, profile)
    from isp.disclosure import cli_support  # lazily: scipy loads only for disclosure work

    result = cli_support.audit_file(file, rules)
    if json_out:
        emit_json(result.as_dict())
    else:
        table(
            f"{file.name}: suppressed cells ({profile} profile)",
            ["cell", "attacker finds", "exact"],
            [(r.cell, r.interval, "yes" if r.exact else "no") for r in result.cells],
        )
    if result.violations:
        raise cli_support.AuditFailed(result.violation_lines(), f"{len(result.violations)} violation(s) in {file.name}")
    if not json_out:
        ok(f"{file.name}: every suppressed cell is protected ({len(result.cells)} checked)")


@app.command()
def protect(
    file: TableArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the protected table (CSV).")],
    profile: ProfileOption = "external",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Protect a complete table: suppress small counts, then enough others to pass the audit.

    Every cell must be given, margins included. Threshold rule, then secondary suppression until
    the audit passes; suppressed cells are written as `x`. Agency contributions are not in a
    cross-tab, so the dominance rule is not applied here (releases apply it).

    Example: `isp disclosure protect ~/new-cases-by-site.csv -o ~/new-cases-protected.csv`
    """
    rules = _profile(repo, profile)
    from isp.disclosure import cli_support

    result = cli_support.protect_file(file, out, rules, force)
    if json_out:
        emit_json(result)
    else:
        ok(f"wrote {out}: {result['suppressed']} cell(s) suppressed, audit passed")


def _profile(repo: Path, name: str) -> DisclosureProfile:
    profiles = loading.load(repo).protocol.disclosure.profiles
    if name not in profiles:
        raise IspError(f"unknown disclosure profile '{name}': protocol.yaml has {', '.join(profiles)}")
    return profiles[name]


audit.__doc__ = (audit.__doc__ or "") + FORMAT
protect.__doc__ = (protect.__doc__ or "") + FORMAT


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="disclosure")
