"""Keys: age recipients and SSH signers recorded in agencies.yaml, and the files derived from them.

``sync`` regenerates ``.sops.yaml`` (who can decrypt what), ``.github/CODEOWNERS`` (who reviews
what) and ``protocol/allowed_signers`` (whose commit signatures count), then re-wraps every
encrypted file for its new recipient set.
"""

from __future__ import annotations

import base64
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from isp import yamlfiles
from isp.crypto import sops
from isp.errors import IspError
from isp.fsutil import write_atomic, write_text_atomic
from isp.protocol import loading
from isp.protocol import models as protocol

SOPS_CONFIG = ".sops.yaml"
CODEOWNERS = ".github/CODEOWNERS"
ALLOWED_SIGNERS = "protocol/allowed_signers"
SITE_CREDENTIALS = "protocol/site-credentials.yaml"
AGENCY_OUTPUTS = "aggregates/agency"
ENCRYPTED_GLOBS = ("submissions/*/*.csv", "aggregates/**/*.csv", SITE_CREDENTIALS)


def _edit_agencies(root: Path) -> AbstractContextManager[yamlfiles.Document]:
    return yamlfiles.edit(loading.protocol_dir(root) / "agencies.yaml", width=4096)


def new_key(root: Path, owner: str, out: Path) -> str:
    """Make an age identity for ``owner`` (an agency code or ``ci``); write the secret only to
    ``out`` (mode 0600) and record the public recipient. Returns the recipient."""
    isp = loading.load(root)
    owner = "ci" if owner.lower() == "ci" else owner
    if owner != "ci":
        isp.agency(owner)
    if out.exists():
        raise IspError(f"{out} already exists: choose another file (an existing key is never overwritten)")
    secret, recipient = sops.new_identity()
    write_atomic(out, f"# age identity for {owner}\n{secret}\n".encode(), mode=0o600)
    add_recipient(root, owner, recipient)
    return recipient


def add_recipient(root: Path, owner: str, recipient: str) -> None:
    with _edit_agencies(root) as doc:
        if owner == "ci" and doc.get("ci") is None:
            doc["ci"] = {"age_recipients": []}
        entry = doc["ci"] if owner == "ci" else doc["agencies"][owner]
        if entry.get("age_recipients") is None:
            entry["age_recipients"] = []
        recipients = entry["age_recipients"]
        if recipient not in recipients:
            recipients.append(recipient)


SSH_PUBLIC_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-\S+@openssh\.com) ([A-Za-z0-9+/]+={0,3})(?:\s|$)"
)


def read_public_key(public_key_file: Path) -> str:
    """``type base64`` from an OpenSSH public key file; refuses private keys and anything else."""
    if not public_key_file.is_file():
        raise IspError(f"{public_key_file}: no such public key file")
    text = public_key_file.read_bytes()[:20000].decode("utf-8", "replace")
    if "PRIVATE KEY" in text:
        raise IspError(f"{public_key_file}: this is a PRIVATE key: give the .pub file, and keep the private key secret")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    match = SSH_PUBLIC_KEY.match(lines[0]) if len(lines) == 1 else None
    if match is None:
        raise IspError(
            f"{public_key_file}: not an SSH public key (one line 'ssh-ed25519 AAAA... comment', the .pub file)"
        )
    try:
        blob = base64.b64decode(match.group(2), validate=True)
    except ValueError:
        raise IspError(f"{public_key_file}: the key is damaged (not base64)") from None
    if blob[4 : 4 + int.from_bytes(blob[:4], "big")].decode("ascii", "replace") != match.group(1):
        raise IspError(f"{public_key_file}: the key is damaged (its type does not match its content)")
    return f"{match.group(1)} {match.group(2)}"


def add_signer(root: Path, agency: str, email: str, public_key_file: Path) -> str:
    """Register ``email``'s SSH signing key; ``email`` must be one of the agency's focal points."""
    isp = loading.load(root)
    isp.agency(agency)
    if isp.agency_of_email(email) != agency:
        raise IspError(f"{email} is not a focal point of {agency}: add them to protocol/agencies.yaml first")
    key = read_public_key(public_key_file)
    for code, other in isp.agencies.items():
        for _, focal in other.focal_points.all():
            if focal.email.lower() != email.lower() and any(k.split()[:2] == key.split() for k in focal.ssh_keys):
                raise IspError(
                    f"{public_key_file}: this key is already registered for {focal.email} ({code}): "
                    "every focal point signs with a key of their own"
                )
    with _edit_agencies(root) as doc:
        for focal in doc["agencies"][agency]["focal_points"].values():
            if focal["email"].lower() == email.lower():
                if focal.get("ssh_keys") is None:
                    focal["ssh_keys"] = []
                if key not in [" ".join(k.split()[:2]) for k in focal["ssh_keys"]]:
                    focal["ssh_keys"].append(key)
    return key


# --- generated files -------------------------------------------------------------------------


class SopsRule(TypedDict):
    """One ``creation_rules`` entry of .sops.yaml: files matching ``path_regex`` go to ``age``."""

    path_regex: str
    age: list[str]


def _rule(regex: str, recipients: list[str]) -> SopsRule:
    return {"path_regex": regex, "age": sorted(set(recipients))}


def sops_rules(isp: protocol.Isp) -> list[SopsRule]:
    """Creation rules, most specific first (sops uses the first match)."""
    ci = list(isp.ci.age_recipients)
    coordinators = [r for code in isp.coordinators() for r in isp.agencies[code].age_recipients]
    members = [r for a in isp.agencies.values() for r in a.age_recipients]
    rules: list[SopsRule] = []
    for code, agency in isp.agencies.items():
        own = list(agency.age_recipients)
        rules.append(_rule(rf"^submissions/{code}/.*$", own + coordinators + ci))
        rules.append(_rule(rf"^{AGENCY_OUTPUTS}/{code}/.*$", own + ci))
    rules.append(_rule(r"^aggregates/.*$", members + ci))
    rules.append(_rule(rf"^{SITE_CREDENTIALS.replace('.', '[.]')}$", coordinators + ci))
    return [r for r in rules if r["age"]]


def sops_config(isp: protocol.Isp) -> str:
    header = "# Generated by `isp keys sync` from protocol/agencies.yaml. Do not edit by hand.\n"
    body = {"creation_rules": sops_rules(isp), "stores": {"json_binary": {"indent": 1}}}
    return header + yamlfiles.dump_data(body, width=4096)


def required_recipients(isp: protocol.Isp, rel_path: str) -> set[str] | None:
    """The recipients .sops.yaml gives ``rel_path`` (None when no rule matches)."""
    for rule in sops_rules(isp):
        if re.match(rule["path_regex"], rel_path):
            return set(rule["age"])
    return None


def allowed_signers(isp: protocol.Isp) -> str:
    """git's allowed-signers file: one line per focal-point key, the e-mail as principal."""
    lines = ["# Generated by `isp keys sync`: focal points whose SSH signatures count."]
    for code, agency in isp.agencies.items():
        for role, focal in agency.focal_points.all():
            for key in focal.ssh_keys:
                lines.append(f'{focal.email} namespaces="git" {key} {code}:{role}')
    return "\n".join(lines) + "\n"


def codeowners(isp: protocol.Isp) -> str:
    coordinators = [fp.email for code in isp.coordinators() for _, fp in isp.agencies[code].focal_points.all()][:6]
    owners = " ".join(coordinators)
    lines = ["# Generated by `isp keys sync`. The last matching pattern wins.", f"*                      {owners}"]
    for code, agency in isp.agencies.items():
        emails = " ".join(fp.email for _, fp in agency.focal_points.all())
        lines.append(f"/submissions/{code}/    {emails}")
    for path in ("/protocol/", "/scripts/", "/.github/", "/mkdocs.yml", "/pyproject.toml", "/.sops.yaml"):
        lines.append(f"{path:<22} {owners}")
    return "\n".join(lines) + "\n"


@dataclass
class SyncReport:
    written: list[str] = field(default_factory=list)
    rewrapped: list[str] = field(default_factory=list)
    not_rewrapped: list[str] = field(default_factory=list)  # no key here could open them
    rotate: list[str] = field(default_factory=list)  # a removed recipient could still open them: rotate
    rotated: list[str] = field(default_factory=list)
    not_encrypted: list[str] = field(default_factory=list)  # not a sops envelope: left alone, see `isp guard`


def encrypted_files(root: Path) -> list[str]:
    found = {p.relative_to(root).as_posix() for pattern in ENCRYPTED_GLOBS for p in root.glob(pattern)}
    return sorted(found)


def write_generated(root: Path, isp: protocol.Isp) -> list[str]:
    files = ((SOPS_CONFIG, sops_config(isp)), (CODEOWNERS, codeowners(isp)), (ALLOWED_SIGNERS, allowed_signers(isp)))
    for rel, text in files:
        write_text_atomic(root / rel, text)
    return [rel for rel, _ in files]


def sync(root: Path, rotate: bool = False) -> SyncReport:
    """Regenerate the derived files and re-wrap every encrypted file whose recipients changed.

    A file that a removed recipient could open keeps its old recipients until it is rotated
    (``rotate=True``: re-wrap, then a new data key), so the need to rotate is reported on every
    run until done, not forgotten after the first re-wrap. Needs a key that opens the files
    (SOPS_AGE_KEY / SOPS_AGE_KEY_FILE); files it cannot open are listed in ``not_rewrapped``.
    """
    isp = loading.load(root)
    report = SyncReport(written=write_generated(root, isp))
    for rel in encrypted_files(root):
        data = (root / rel).read_bytes()
        if not sops.is_envelope(data):
            report.not_encrypted.append(rel)
            continue
        have, want = sops.recipients(data), required_recipients(isp, rel)
        if want is None or have == want:
            continue
        removed = bool(have - want)
        if removed and not rotate:
            report.rotate.append(rel)
            continue
        try:
            sops.update_keys(root, [rel])
            if removed:
                sops.rotate(root, rel)
        except sops.CryptoError:
            report.not_rewrapped.append(rel)
            if removed:
                report.rotate.append(rel)
            continue
        (report.rotated if removed else report.rewrapped).append(rel)
    return report
