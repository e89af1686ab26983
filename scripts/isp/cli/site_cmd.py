"""`isp site credentials|build|serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import console, emit_json, ok, table
from isp.protocol import loading
from isp.site import credentials

group = typer.Typer(help="The access-controlled internal site (MkDocs, encrypted pages).", no_args_is_help=True)


@group.command("credentials")
def credentials_cmd(
    repo: RepoOption = Path("."),
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace every passphrase with a new one.")] = False,
    show: Annotated[bool, typer.Option("--show", help="Print the passphrases (needs a key that opens them).")] = False,
) -> None:
    """Create the site passphrases, one per access level (members, coordinators, one per agency),
    in the sops-encrypted protocol/site-credentials.yaml (coordinators and CI can open it). Existing
    passphrases are kept unless --rotate; a new agency gets its own. Commit the file, then rebuild.
    On the site, a person chooses whose passphrase it is (the level's name in the table of --show),
    then enters it.

    Example: `isp site credentials` then `sops decrypt --input-type binary --output-type binary
    protocol/site-credentials.yaml`
    """
    report = credentials.ensure(repo, rotate=rotate)
    if report.created:
        ok(f"new passphrase(s) for {', '.join(report.created)} in {credentials.SITE_CREDENTIALS}")
    else:
        ok(f"every level already has a passphrase in {credentials.SITE_CREDENTIALS}")
    if show:
        isp = loading.load(repo)
        values = credentials.load(repo, isp)
        rows = [(level, name, values[level]) for level, name in credentials.holders(isp).items()]
        table("Site passphrases", ["level", "choose on the site", "passphrase"], rows)
        console.print("On a protected page: choose whose passphrase it is, then enter it.")
        return
    console.print(f"Read them with: {credentials.READ_HINT}  (or `isp site credentials --show`)")


@group.command("build")
def build_cmd(
    repo: RepoOption = Path("."),
    out: Annotated[Path | None, typer.Option("--out", help="Output folder.", show_default="build/site")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on any warning, as `mkdocs build --strict`.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show MkDocs' progress lines.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Build the site (English, and Arabic under ar/) from the encrypted aggregates. Needs
    SOPS_AGE_KEY or SOPS_AGE_KEY_FILE with a key that opens the aggregates and the site
    credentials (CI's). Nothing decrypted is written to disk outside the encrypted pages.

    Example: `SOPS_AGE_KEY_FILE=ci.agekey isp site build --strict --out build/site`
    """
    from isp.site.build import build_site

    report = build_site(repo, out, strict=strict, verbose=verbose)
    if json_out:
        emit_json({"out": str(report.out), "seconds": round(report.seconds, 2), "languages": report.languages,
                   "pages": report.pages})  # fmt: skip
        return
    ok(f"built {report.pages} pages x {len(report.languages)} languages in {report.seconds:.1f} s: {report.out}")


@group.command("serve")
def serve_cmd(
    repo: RepoOption = Path("."),
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8000,
    folder: Annotated[Path | None, typer.Option("--dir", help="The built site.", show_default="build/site")] = None,
) -> None:
    """Serve the built site on http://127.0.0.1:PORT/ (local only; WebCrypto needs localhost).
    It serves files only: build first with `isp site build`. Stop with Ctrl+C.

    Example: `isp site serve --port 8000`
    """
    from isp.site import serve

    httpd = serve.server((folder or repo / "build" / "site").resolve(), port)
    ok(f"serving {serve.url(httpd)} (Ctrl+C to stop)")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="site")
