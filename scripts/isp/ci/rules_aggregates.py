"""The aggregate class: ``aggregates/`` is written only by the consolidation on main (main.yml).

A pull request may re-wrap an aggregate for new recipients (``isp keys sync``: same encrypted data,
same MAC) but never add, change or delete one: anyone holding the public keys could otherwise
encrypt invented figures that the site and the releases would trust. A re-wrap must also still
decrypt (with the key) and carry one well-formed stanza per recipient (see :mod:`isp.ci.envelopes`).
"""

from __future__ import annotations

from isp import errors
from isp.ci.envelopes import check_decrypts, check_envelope
from isp.ci.report import Context, FileCheck
from isp.crypto import sops as crypto


def is_rewrap(before: bytes, after: bytes) -> bool:
    """True when ``after`` is ``before`` wrapped for other recipients: the encrypted data and the
    MAC (which covers the plaintext) are unchanged, only the key stanzas differ."""
    old, new = crypto.parse_envelope(before), crypto.parse_envelope(after)
    if old is None or new is None:
        return False
    return bool(old["data"] == new["data"] and old["sops"].get("mac") == new["sops"].get("mac"))


def check_aggregate(ctx: Context, check: FileCheck, before: bytes | None, after: bytes | None) -> None:
    """Nothing under aggregates/ changes in a pull request except re-wraps (see the module doc)."""
    rewrap = check.change == "M" and before is not None and after is not None and is_rewrap(before, after)
    check.checks["written-by-ci"] = rewrap
    if not rewrap:
        ctx.violation(
            check.path,
            errors.AGGREGATES_NOT_BY_CI,
            fix="drop the change: `git checkout origin/main -- aggregates` (re-wraps by `isp keys sync` are allowed)",
            changed=_CHANGE_WORDS.get(check.change, "changed"),
        )
        return
    assert after is not None
    check_envelope(ctx, check, after, rewrap=True)
    if ctx.can_decrypt and check.checks.get("encrypted"):
        check_decrypts(ctx, check, after, "a re-wrap must still open: run `isp keys sync` again on the base")


_CHANGE_WORDS = {"A": "added", "M": "changed", "D": "deleted", "T": "changed"}
