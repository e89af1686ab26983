"""`isp keys new|signer|sync`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, ok, warn
from isp.crypto import keys

group = typer.Typer(help="Age keys, SSH signers, and the files generated from them.", no_args_is_help=True)


@group.command("new")
def new(
    owner: Annotated[str, typer.Argument(help="An agency code (IRC, IMC, ...) or `ci`.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (kept outside git).")],
    repo: RepoOption = Path("."),
) -> None:
    """Make an age identity: the secret goes only to --out (mode 0600); the public recipient is
    recorded in protocol/agencies.yaml. Run `isp keys sync` afterwards.

    Example: `isp keys new IRC --out ~/.config/sops/age/irc.txt`
    """
    recipient = keys.new_key(repo, owner, out)
    ok(f"{owner}: recipient {recipient} recorded; secret key written to {out}")


@group.command("signer")
def signer(
    agency: Annotated[str, typer.Argument(help="Agency code.")],
    email: Annotated[str, typer.Option("--email", help="The focal point's e-mail in agencies.yaml.")],
    ssh_key: Annotated[Path, typer.Option("--ssh-key", help="The focal point's SSH public key (.pub).")],
    repo: RepoOption = Path("."),
) -> None:
    """Register a focal point's SSH signing key, so their signed commits count for the agency.

    Example: `isp keys signer IRC --email focal.irc@example.org --ssh-key ~/.ssh/id_ed25519.pub`
    """
    keys.add_signer(repo, agency, email, ssh_key)
    ok(f"{email} may now sign for {agency}; run `isp keys sync`")


@group.command("sync")
def sync(
    repo: RepoOption = Path("."),
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Give files a removed recipient could open a new data key.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Regenerate .sops.yaml, .github/CODEOWNERS and protocol/allowed_signers from agencies.yaml,
    then re-wrap every encrypted file for its new recipients (needs SOPS_AGE_KEY or
    SOPS_AGE_KEY_FILE: a key that opens them, e.g. CI's). When a recipient was removed, the files
    it could open are only re-wrapped with --rotate, which also gives them a new data key.

    Example: `SOPS_AGE_KEY_FILE=ci.agekey isp keys sync --rotate`
    """
    report = keys.sync(repo, rotate=rotate)
    if json_out:
        emit_json(report.__dict__)
        return
    ok(f"wrote {', '.join(report.written)}; re-wrapped {len(report.rewrapped)} file(s), rotated {len(report.rotated)}")
    if report.not_rewrapped:
        warn(
            f"{len(report.not_rewrapped)} file(s) could not be re-wrapped: set SOPS_AGE_KEY (or SOPS_AGE_KEY_FILE) "
            "to a key that opens them, such as CI's, and run again"
        )
    if report.rotate:
        warn(
            f"{len(report.rotate)} file(s) can still be opened by a key that is no longer listed: "
            "run `isp keys sync --rotate` to re-wrap them with a new data key"
        )
    if report.not_encrypted:
        warn(f"{len(report.not_encrypted)} file(s) are not sops envelopes: run `isp guard` and remove the plaintext")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="keys")
