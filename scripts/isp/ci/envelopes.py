"""sops envelopes: recipients as the base requires them, checked for real, not by label.

sops writes one age stanza per recipient: ``{"recipient": "age1...", "enc": <armored age file>}``
whose age header holds exactly one ``-> X25519`` line. The ``recipient`` label is not checked by
anything: a stanza labelled as CI's could be encrypted for another key, or for several. So:

* without the key, every stanza must have sops' shape for exactly one X25519 recipient
  (``recipient-shape``), and the labels must be exactly the recipients the base requires;
* with the CI key, the stanza labelled CI's must open with CI's identity and the whole file must
  decrypt (``recipient-not-ci``, ``decrypt``);
* the ``sops`` block holds only what sops writes for an age-only binary file (``sops-metadata``):
  sops reads ``key_groups`` *instead of* the top-level stanzas, and tries an ``hc_vault`` (or any
  other) master key beside them, so either would open the file to a key no label check sees.
"""

from __future__ import annotations

import base64
import binascii
import json

from isp import errors
from isp.ci.report import Context, FileCheck
from isp.crypto import keys
from isp.crypto import sops as crypto
from isp.protocol import models as protocol

_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
_AGE_VERSION = b"age-encryption.org/v1"
SOPS_FIELDS = frozenset({"age", "lastmodified", "mac", "version"})  # all sops writes for an age-only binary file
# ...and, after `sops updatekeys` (a re-wrap), its default suffix: "data" never ends with it
SOPS_DEFAULTS = {"unencrypted_suffix": "_unencrypted"}


def _owners(isp: protocol.Isp) -> dict[str, str]:
    names = {r: code for code, a in isp.agencies.items() for r in a.age_recipients}
    names.update({r: "CI" for r in isp.ci.age_recipients})
    return names


def _describe(recipients: set[str], owners: dict[str, str]) -> str:
    return ", ".join(sorted(owners.get(r, f"unregistered key {r[:12]}…") for r in recipients))


def check_envelope(ctx: Context, check: FileCheck, blob: bytes, rewrap: bool = False) -> None:
    """An encrypted path holds a sops envelope for exactly the recipients the base requires; a
    re-wrap (same data and MAC) in a pull request whose agencies.yaml change produced a generated
    .sops.yaml may carry the head's recipients instead (a key rotation)."""
    if not crypto.is_envelope(blob):
        check.checks["encrypted"] = False
        ctx.violation(
            check.path, errors.NOT_ENCRYPTED, fix="encrypt it with `isp submit` (never commit the plaintext sheet)"
        )
        return
    check.checks["encrypted"] = True
    meta = json.loads(blob)["sops"]
    extra = sorted(k for k in set(meta) - SOPS_FIELDS if k not in SOPS_DEFAULTS or meta[k] != SOPS_DEFAULTS[k])
    check.checks["sops-metadata"] = not extra
    if extra:
        ctx.violation(check.path, errors.SOPS_METADATA, fields=", ".join(f"`{f}`" for f in extra[:4]))
    want = keys.required_recipients(ctx.isp, check.path)
    have = crypto.recipients(blob)
    if rewrap and ctx.head_isp is not None and have != want:
        want = keys.required_recipients(ctx.head_isp, check.path)
    check.checks["recipients"] = want == have
    if want is None:
        ctx.violation(
            check.path,
            errors.RECIPIENTS,
            fix="use submissions/<AGENCY>/<YYYY-MM>.csv for an agency of protocol/agencies.yaml",
            detail="no rule of the base's .sops.yaml covers this path",
        )
    elif want != have:
        owners = _owners(ctx.isp)
        wrong = [
            f"missing {_describe(want - have, owners)}" if want - have else "",
            f"not allowed {_describe(have - want, owners)}" if have - want else "",
        ]
        ctx.violation(
            check.path,
            errors.RECIPIENTS,
            fix="re-encrypt with `isp submit` from the base branch; "
            "key changes go in a pull request of their own first",
            detail=f"encrypted for the wrong recipients ({'; '.join(w for w in wrong if w)})",
        )
    else:
        check_stanzas(ctx, check, blob)


def stanza_problem(stanza: object) -> str | None:
    """Why one sops age stanza is not sops' shape for exactly one X25519 recipient (None: it is)."""
    if not isinstance(stanza, dict) or set(stanza) != {"recipient", "enc"}:
        return "a stanza that is not {recipient, enc}"
    armored = stanza["enc"]
    if not isinstance(armored, str) or not armored.startswith(_ARMOR_BEGIN) or _ARMOR_END not in armored:
        return "a stanza whose key is not an armored age file"
    body = "".join(armored[len(_ARMOR_BEGIN) : armored.index(_ARMOR_END)].split())
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return "a stanza whose armor is not base64"
    lines = raw.split(b"\n")
    if not lines or lines[0] != _AGE_VERSION:
        return "a stanza that is not an age v1 file"
    header = lines[1 : next((i for i, ln in enumerate(lines) if ln.startswith(b"---")), len(lines))]
    arrows = [ln for ln in header if ln.startswith(b"->")]
    if len(arrows) != 1 or not arrows[0].startswith(b"-> X25519 "):
        return f"a stanza wrapped for {len(arrows)} recipients (sops writes exactly one X25519 recipient per stanza)"
    return None


def check_stanzas(ctx: Context, check: FileCheck, blob: bytes) -> None:
    """Each stanza: sops' shape, one recipient; with the CI key, CI's stanza opens with it."""
    doc = json.loads(blob)
    stanzas = doc["sops"].get("age") or []
    labels = [s.get("recipient") if isinstance(s, dict) else None for s in stanzas]
    problems = [p for p in map(stanza_problem, stanzas) if p]
    if len(set(labels)) != len(labels):
        problems.append("two stanzas carry the same recipient label")
    if doc["sops"].get("pgp") or doc["sops"].get("kms") or doc["sops"].get("gcp_kms") or doc["sops"].get("azure_kv"):
        problems.append("key groups other than age")
    check.checks["stanzas"] = not problems
    for problem in problems[:1]:
        ctx.violation(
            check.path,
            errors.RECIPIENT_SHAPE,
            fix="encrypt with sops for the base's recipients only (`isp submit`, `isp keys sync`)",
            problem=problem,
        )
    if not problems and ctx.can_decrypt:
        _check_ci_stanza(ctx, check, stanzas)


def _ci_identities() -> list[object]:
    import os

    import pyrage

    text = os.environ.get("SOPS_AGE_KEY") or ""
    key_file = os.environ.get("SOPS_AGE_KEY_FILE")
    if not text and key_file:
        with open(key_file, encoding="utf-8") as handle:
            text = handle.read()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("AGE-SECRET-KEY-")]
    return [pyrage.x25519.Identity.from_str(line) for line in lines]


def _check_ci_stanza(ctx: Context, check: FileCheck, stanzas: list[dict[str, str]]) -> None:
    """CI's stanza (by label) must open with CI's own identity: a label is not a recipient."""
    import pyrage

    ci_labels = set(ctx.isp.ci.age_recipients)
    mine = [s for s in stanzas if s["recipient"] in ci_labels]
    identities = _ci_identities()
    opened = False
    for stanza in mine:
        try:
            pyrage.decrypt(_dearmor(stanza["enc"]), identities)
            opened = True
        except (pyrage.DecryptError, ValueError):
            opened = False
            break
    check.checks["ci-stanza-opens"] = opened
    if mine and not opened:
        ctx.violation(
            check.path,
            errors.RECIPIENT_NOT_CI,
            fix="encrypt with sops for the base's recipients (`isp submit`, `isp keys sync`)",
        )


def _dearmor(armored: str) -> bytes:
    body = "".join(armored[len(_ARMOR_BEGIN) : armored.index(_ARMOR_END)].split())
    return base64.b64decode(body)


def check_decrypts(ctx: Context, check: FileCheck, blob: bytes, fix: str) -> bytes | None:
    """Decrypt in memory (never printed); a failure is one line naming the file."""
    try:
        plaintext = crypto.decrypt_bytes(blob, check.path)
    except crypto.CryptoError as exc:
        check.checks["decrypts"] = False
        ctx.violation(check.path, errors.DECRYPT, fix=fix, reason=exc.reason)
        return None
    check.checks["decrypts"] = True
    return plaintext
