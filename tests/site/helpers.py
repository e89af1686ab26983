"""A small ISP repository for the site tests: signed encrypted submissions, aggregates per contract
C (written here, encrypted with the real sops, as ``isp consolidate`` would), site credentials.

One cell of IRC's last month carries a canary count; :func:`canaries` lists every figure derived
from it as the site could render it (the cell, the site and national totals, each period kind).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from isp.consolidate import codec
from isp.crypto import sops
from isp.crypto.keys import AGENCY_OUTPUTS
from isp.demo import synthetic
from isp.fsutil import write_atomic
from isp.protocol.models import Isp
from isp.protocol.periods import PERIOD_KINDS, Period, period_of
from isp.sheets import tidy
from isp.site.hooks import KDF_POW
from tests.helpers import IspRepo, patched_env

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Debian's Chromium, driven headless through Playwright by the browser tests.
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # fmt: skip
PASSWORD = "#mkdocs-content-password"
WHOSE = "#mkdocs-content-user"  # the unlock form's "whose passphrase is it?"

MONTHS = ("2025-11", "2025-12", "2026-01")
TODAY = "2026-02-20"
CANARY = 79193
CANARY_CELL = {"site": "JO22", "indicator": "new_cases", "sex": "F", "age_group": "0-5", "nationality": "SYR"}
CANARY_AGENCY, CANARY_MONTH = "IRC", "2026-01"
KEYS = ["site", "indicator", "sex", "age_group", "nationality"]


@dataclass
class SiteRepo:
    repo: IspRepo
    sheets: dict[tuple[str, str], pd.DataFrame]  # (agency, month) -> tidy frame (plaintext, memory only)
    consolidated: dict[tuple[str, str], pd.DataFrame]  # (kind, label) -> aggregate frame

    @property
    def root(self) -> Path:
        return self.repo.root


def _sheet(isp: Isp, agency: str, month: str) -> pd.DataFrame:
    frame = synthetic.month_sheet(isp, agency, month, seed=7)
    if (agency, month) == (CANARY_AGENCY, CANARY_MONTH):
        mask = pd.Series(True, index=frame.index)
        for column, value in CANARY_CELL.items():
            mask &= frame[column] == value
        assert mask.sum() == 1
        frame.loc[mask, "count"] = CANARY
    return frame


def period_frame(sheets: list[pd.DataFrame], isp: Isp, period: Period) -> pd.DataFrame:
    """One agency's figures for ``period``: flows summed, stocks from its last reported month."""
    months = sorted({m for frame in sheets for m in frame["month"].unique()})
    frame = pd.concat(sheets, ignore_index=True)
    stock = {code for code, ind in isp.indicators.items() if ind.aggregation == "stock"}
    flows = frame[~frame["indicator"].isin(stock)].groupby(KEYS, as_index=False)["count"].sum()
    last = frame[frame["indicator"].isin(stock) & (frame["month"] == months[-1])][[*KEYS, "count"]]
    return pd.concat([flows, last], ignore_index=True).assign(period=period.label)


def with_national(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["period", "indicator", "sex", "age_group", "nationality"]
    national = frame.groupby(keys, as_index=False)["count"].sum().assign(site="ALL")
    return pd.concat([frame, national], ignore_index=True)


def aggregate_csv(frame: pd.DataFrame) -> bytes:
    columns = ["period", *KEYS, "count"]
    out = frame[columns].sort_values(columns[:-1]).reset_index(drop=True)
    return out.to_csv(index=False, lineterminator="\n").encode()


def encrypt_all(root: Path, plaintexts: dict[str, bytes]) -> None:
    """Encrypt and write many files with parallel sops processes (rel path -> plaintext)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item: tuple[str, bytes]) -> None:
        rel, data = item
        stored = codec.pack(data) if rel.startswith("aggregates/") else data  # as isp consolidate stores them
        write_atomic(root / rel, sops.encrypt(root, rel, stored))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, plaintexts.items()))


def write_aggregates(root: Path, isp: Isp, sheets: dict[tuple[str, str], pd.DataFrame]) -> dict:
    """aggregates/<kind>/<label>.csv, each agency's year files aggregates/agency/<A>/<YYYY>.csv
    (every period of the year, monthly first, each kind by label) and the manifest."""
    consolidated: dict[tuple[str, str], pd.DataFrame] = {}
    files: dict[str, bytes] = {}
    year_files: dict[str, list[bytes]] = {}
    manifest: dict = {"rules_version": 1, "generated": f"{TODAY}T00:00:00+00:00", "outputs": {}}
    agencies = sorted({a for a, _ in sheets})
    months = sorted({m for _, m in sheets})
    for kind in PERIOD_KINDS:
        for period in sorted({period_of(m, kind) for m in months}):
            per_agency = {}
            for agency in agencies:
                own = [sheets[(agency, m)] for m in period.months if (agency, m) in sheets]
                if own:
                    per_agency[agency] = with_national(period_frame(own, isp, period))
                    table = aggregate_csv(per_agency[agency])
                    year_file = year_files.setdefault(f"{AGENCY_OUTPUTS}/{agency}/{period.first[:4]}.csv", [])
                    year_file.append(table if not year_file else table.partition(b"\n")[2])
            total = pd.concat(per_agency.values()).groupby(["period", *KEYS], as_index=False)["count"].sum()
            consolidated[(kind, period.label)] = total
            files[f"aggregates/{kind}/{period.label}.csv"] = aggregate_csv(total)
            manifest["outputs"][f"{kind}/{period.label}"] = {
                "inputs": [],
                "months": [m for m in period.months if m in months],
                "coverage": {
                    "reported": len(per_agency),
                    "expected": len(isp.submitters()),
                    "agency_months": {  # as isp consolidate records it (plan.entry)
                        "reported": sum((a, m) in sheets for a in agencies for m in period.months),
                        "expected": len(isp.submitters()) * len(period.months),
                    },
                },
                "revised": False,
                "suspended": 0,
            }
    files |= {rel: b"".join(parts) for rel, parts in year_files.items()}
    encrypt_all(root, files)
    write_atomic(root / "aggregates/manifest.json", json.dumps(manifest, indent=1).encode())
    return consolidated


LATE = ("IRC", "2025-12")  # submitted after its due date; every other sheet on time


def _committed(repo: IspRepo, message: str, paths: list[str], signer: str, email: str, day: str) -> str:
    """A signed commit dated ``day`` (noon in Amman), so timeliness is checkable."""
    stamp = f"{day}T12:00:00+03:00"
    with patched_env({"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp}):
        return repo.commit(message, paths=paths, signer=signer, email=email)


def populate(repo: IspRepo) -> SiteRepo:
    """Signed submissions for MONTHS (dated), the aggregates and the site credentials; committed."""
    from isp.protocol import workdays
    from isp.site import credentials

    isp = repo.load()
    cal = workdays.WorkingCalendar(isp)
    sheets = {(agency, month): _sheet(isp, agency, month) for month in MONTHS for agency in isp.submitters()}
    encrypt_all(repo.root, {f"submissions/{a}/{m}.csv": tidy.to_csv(frame) for (a, m), frame in sheets.items()})
    for month in MONTHS:
        for agency in isp.submitters():
            due = cal.submission_due(month)
            day = due.replace(day=due.day + 3) if (agency, month) == LATE else due.replace(day=2)
            email = isp.agencies[agency].focal_points.primary.email
            _committed(repo, f"{agency} {month}", [f"submissions/{agency}/{month}.csv"], f"{agency}:primary", email,
                       day.isoformat())  # fmt: skip
    consolidated = write_aggregates(repo.root, isp, sheets)
    credentials.ensure(repo.root)
    coordinator = isp.agencies["UNHCR"].focal_points.primary.email
    _committed(repo, "Consolidate; site credentials", ["aggregates", "protocol/site-credentials.yaml"],
               "UNHCR:primary", coordinator, "2026-02-10")  # fmt: skip
    _registers(repo.root, isp)
    _committed(repo, "A request, a breach, a suspension", ["requests", "protocol"], "UNHCR:primary", coordinator,
               "2026-02-16")  # fmt: skip
    return SiteRepo(repo, sheets, consolidated)


REQUEST_ID, BREACH_ID, SUSPENDED = "REQ-2026-001", "BR-2026-001", "JRF"
MINUTES_ID, MINUTES_DECISION = "TF-2026-01", "Referral delays discussed; the coordinators update the analysis"


def _registers(root: Path, isp: Isp) -> None:
    """A pending request, an open breach and a suspension, through the requests helper's API."""
    from datetime import date

    from isp.governance import breaches, membership, request_files

    request_files.new_request(root, {
        "id": REQUEST_ID, "type": "external", "received": date(2026, 2, 12), "issued": date(2026, 2, 15),
        "requester": {"organization": "Example University", "name": "Researcher Example", "position": "Lecturer",
                      "contact": "research@example.org"},
        "purpose": "A study of referral pathways", "use": "Tables in a research report",
        "feedback": "The report comes back to the group", "guarantee": "No onward sharing",
        "data": {"report": "quarterly", "periods": ["2025-Q4"], "indicators": ["new_cases"], "geography": "national"},
    }, isp)  # fmt: skip
    breaches.open_breach(root, date(2026, 2, 5), "A report went to a wrong address", breach_id=BREACH_ID)
    membership.suspend(root, SUSPENDED, "2026-02", "2026-03", "Reporting team changes", date(2026, 2, 3))
    (root / "protocol" / "meetings").mkdir(exist_ok=True)
    (root / "protocol" / "meetings" / f"{MINUTES_ID}.yaml").write_text(
        f"id: {MINUTES_ID}\nkind: task-force\nsubject: 2026-01\ndate: 2026-02-16\n"
        "attended: [focal.irc@example.org, focal.unhcr@example.org]\n"
        f"decisions: [{MINUTES_DECISION}]\n",
        encoding="utf-8",
    )


def canaries(site: SiteRepo) -> set[int]:
    """Every figure that contains the canary, in the consolidated and IRC's own outputs."""
    values = {CANARY}
    cell = {k: v for k, v in CANARY_CELL.items() if k != "site"}
    for (_kind, label), frame in site.consolidated.items():
        if not frame["period"].eq(label).any() or CANARY_MONTH not in _months(label):
            continue
        for site_code in (CANARY_CELL["site"], "ALL"):
            rows = frame[frame["site"] == site_code]
            ind = rows[rows["indicator"] == cell["indicator"]]
            values.add(int(ind["count"].sum()))
            match = ind
            for column in ("sex", "age_group", "nationality"):
                match = match[match[column] == cell[column]]
            values.add(int(match["count"].sum()))
    return values


def _months(label: str) -> list[str]:
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return [label]
    kind = "annual" if re.fullmatch(r"\d{4}", label) else "quarterly" if "Q" in label else "half-yearly"
    year = label[:4]
    return [m for m in MONTHS if m.startswith(year) and period_of(m, kind).label == label]  # type: ignore[arg-type]


def renderings(value: int) -> list[str]:
    """How a figure may appear in text: plain, with thousands separators, in Arabic-Indic digits."""
    plain = str(value)
    grouped = f"{value:,}"
    arabic = plain.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    return sorted({plain, grouped, grouped.replace(",", " "), grouped.replace(",", "\u202f"), arabic})


ENCRYPTED_BLOCK = re.compile(r'<div id="mkdocs-encrypted-content"[^>]*>[^<]*</div>')
KEYSTORE = re.compile(r"var encryptcontent_keystore = \[[^\]]*\];")


def clear_text(data: bytes) -> str:
    """A built file with its encrypted blocks (ciphertext and keystores) cut out."""
    text = data.decode("utf-8", "replace")
    return KEYSTORE.sub("", ENCRYPTED_BLOCK.sub("", text))


def scan(site_dir: Path, values: set[int]) -> list[str]:
    """Files of the built site where a canary figure appears outside an encrypted block."""
    import gzip

    needles = sorted({text for value in values for text in renderings(value)}, key=len, reverse=True)
    pattern = re.compile(rf"(?<![0-9])(?:{'|'.join(map(re.escape, needles))})(?![0-9])")
    hits = []
    for path in sorted(p for p in site_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        text = clear_text(gzip.decompress(data) if path.suffix == ".gz" else data)
        hits += [f"{path.relative_to(site_dir)}: {m.group(0)}" for m in pattern.finditer(text)]
    return hits


def passphrases(site: SiteRepo, ci_key: str) -> dict[str, str]:
    from isp.site import credentials

    with patched_env({"SOPS_AGE_KEY": ci_key, "SOPS_AGE_KEY_FILE": None}):
        return credentials.load(site.root, site.repo.load())


def frame_total(frame: pd.DataFrame, **where: str) -> int:
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return int(frame["count"].sum())


# --- reading a built page as a browser would, to prove the scan is not vacuous ---------------

KEYSTORE_JSON = re.compile(r"var encryptcontent_keystore = (\[[^\]]*\]);")
CONTENT_ID = re.compile(r'var encryptcontent_id = "([^"]+)";')
ENCRYPTED_DIV = re.compile(r'<div id="mkdocs-encrypted-content"[^>]*>([^<]*)</div>')


def _aes(key: bytes, iv_b64: str, data_b64: str) -> bytes | None:
    import base64

    from Crypto.Cipher import AES
    from Crypto.Util.Padding import unpad

    try:
        cipher = AES.new(key, AES.MODE_CBC, base64.b64decode(iv_b64))
        return unpad(cipher.decrypt(base64.b64decode(data_b64)), 16)
    except ValueError:
        return None


def user_hash(user: str) -> str:
    """The label of a user's keystore entry: base64(SHA-256(encodeURIComponent(lower(user))))."""
    import base64
    import hashlib
    from urllib.parse import quote

    return base64.b64encode(hashlib.sha256(quote(user.lower(), safe="~()*!'").encode()).digest()).decode()


def decrypt_page(html: str, passphrase: str, iterations: int = 10**KDF_POW, user: str | None = None) -> str | None:
    """The decrypted content of a built page, or None when ``passphrase`` does not open it
    (mkdocs-encryptcontent's scheme: PBKDF2-SHA256 keystores, then AES-256-CBC content). With
    ``user``, only that user's entry is tried, as the browser does; else every entry."""
    import base64
    from urllib.parse import quote

    from Crypto.Hash import SHA256
    from Crypto.Protocol.KDF import PBKDF2

    keystores = json.loads(KEYSTORE_JSON.search(html).group(1))  # type: ignore[union-attr]
    content_id = CONTENT_ID.search(html).group(1)  # type: ignore[union-attr]
    for entry in keystores:
        if user is not None and entry.split(";")[3:] != [user_hash(user)]:
            continue
        iv, data, salt = entry.split(";")[:3]
        kdf = PBKDF2(quote(passphrase, safe="~()*!'"), base64.b64decode(salt), 32, count=iterations,
                     hmac_hash_module=SHA256)  # fmt: skip
        plain = _aes(kdf, iv, data)
        try:
            keys = json.loads(plain.decode()) if plain is not None else {}
        except ValueError:  # a wrong key that happened to leave valid padding
            continue
        if content_id in keys:
            iv, data = ENCRYPTED_DIV.search(html).group(1).split(";")  # type: ignore[union-attr]
            content = _aes(bytes.fromhex(keys[content_id]), iv, data)
            return None if content is None else content.decode("utf-8", "replace")
    return None


@dataclass
class BuiltSite:
    site: SiteRepo
    out: Path
    passphrases: dict[str, str]
    canaries: set[int]
    seconds: float
    ci_key: str

    @property
    def root(self) -> Path:
        return self.site.root


def hermetic_git(home: Path) -> dict[str, str | None]:
    """Environment for git outside the per-test fixture: no user or system config."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = ISP Test\n\temail = test@example.org\n[commit]\n\tgpgsign = false\n")
    return {"HOME": str(home), "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
            "XDG_CONFIG_HOME": str(home / ".config")}  # fmt: skip


def unlock(page: Page, passphrase: str, level: str) -> None:
    """Fill the unlock form as a person does: whose passphrase it is (``level``), the passphrase, Enter."""
    page.select_option(WHOSE, level)
    page.fill(PASSWORD, passphrase)
    page.press(PASSWORD, "Enter")
