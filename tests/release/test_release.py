"""`isp release`: refused unless every rule holds; otherwise a package with no SGBV figure, no
early-marriage count, no agency identity, every disclaimer, the release ID and the recipient.

Real sops, age, git and signed commits (tests/release/helpers.py); the repository is built
once per module and copied for each test that changes it.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from isp.governance import breaches, request_files, request_models, request_rules
from isp.protocol import attribution, loading
from tests.helpers import isp, write_submission
from tests.release import helpers as fx


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, keyring, _template_repo) -> fx.ReleaseRepo:
    return fx.build(tmp_path_factory.mktemp("release"), _template_repo, keyring)


@pytest.fixture
def fresh(built: fx.ReleaseRepo, tmp_path: Path) -> fx.ReleaseRepo:
    """A copy of the built repository this test may change."""
    return built.copy(tmp_path)


@pytest.fixture(scope="module")
def package(built: fx.ReleaseRepo, tmp_path_factory: pytest.TempPathFactory) -> tuple[fx.ReleaseRepo, Path, dict]:
    """The approved request released once (in its own copy), with the CLI's JSON report."""
    folder = tmp_path_factory.mktemp("released")
    repo = built.copy(folder)
    out = folder / "out" / "package"
    result = isp("release", fx.APPROVED, "-o", out, "--repo", repo.root, "--json", env=repo.env())
    assert result.code == 0, result.output
    return repo, out, json.loads(result.out)


def _refused(repo: fx.ReleaseRepo, tmp_path: Path, request_id: str, today: str = fx.TODAY) -> str:
    before = (repo.root / request_models.path_of(request_id)).read_bytes()
    out = tmp_path / "out"
    result = isp("release", request_id, "-o", out, "--repo", repo.root, env=repo.env(today))
    assert result.code == 1, result.output
    assert not out.exists() and not list(tmp_path.glob(".out.*")), "nothing may be written"
    assert (repo.root / request_models.path_of(request_id)).read_bytes() == before
    assert "Traceback" not in result.output
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


# --- refusals ---------------------------------------------------------------------------------


def test_refused_while_an_agency_is_silent(built: fx.ReleaseRepo, tmp_path: Path) -> None:
    line = _refused(built, tmp_path, fx.SILENT)
    assert "refused" in line and fx.SILENT_AGENCY in line and "silence is never consent" in line


def test_refused_when_an_agency_denies(built: fx.ReleaseRepo, tmp_path: Path) -> None:
    line = _refused(built, tmp_path, fx.DENIED)
    assert f"denied by {fx.DENYING_AGENCY}" in line and fx.DENIAL_REASON in line


def test_refused_while_a_breach_is_open(fresh: fx.ReleaseRepo, tmp_path: Path) -> None:
    breach = breaches.open_breach(fresh.root, fx.DECIDED, "A table was sent to the wrong address.")
    fresh.repo.commit("Record a breach", [breach.path], "UNHCR:primary")
    line = _refused(fresh, tmp_path, fx.APPROVED)
    assert f"breach {breach.id} is open" in line


def test_refused_when_the_protocol_is_not_in_force(built: fx.ReleaseRepo, tmp_path: Path) -> None:
    last = loading.load(built.root).protocol.validity.periods[-1].end
    day = last.replace(year=last.year + 1).isoformat()
    line = _refused(built, tmp_path, fx.APPROVED, today=day)
    assert f"the protocol is not in force on {day}" in line


def test_refused_without_a_request(built: fx.ReleaseRepo, tmp_path: Path) -> None:
    result = isp("release", "REQ-2026-999", "-o", tmp_path / "out", "--repo", built.root, env=built.env())
    assert result.code == 1 and "no such request" in result.err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["inside", "not-empty"])
def test_refused_destinations(built: fx.ReleaseRepo, tmp_path: Path, where: str) -> None:
    if where == "inside":
        out = built.root / "requests" / "package"
    else:
        out = tmp_path / "taken"
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    result = isp("release", fx.APPROVED, "-o", out, "--repo", built.root, env=built.env())
    assert result.code == 1, result.output
    assert ("inside the repository" in result.err) if where == "inside" else ("not an empty folder" in result.err)
    assert not (built.root / "requests" / "package").exists()
    if where == "not-empty":
        assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_refused_when_the_aggregates_are_stale(fresh: fx.ReleaseRepo, tmp_path: Path) -> None:
    """A corrected sheet not yet consolidated: the release would not match the submissions."""
    write_submission(fresh.repo, "JRF", "2026-01", seed=99)
    fresh.repo.commit("JRF corrects January", ["submissions/JRF"], "JRF:primary")
    line = _refused(fresh, tmp_path, fx.APPROVED)
    assert "aggregates/quarterly/2026-Q1.csv does not match the submissions" in line and "isp consolidate" in line


def test_refused_without_the_decryption_key(built: fx.ReleaseRepo, tmp_path: Path) -> None:
    env = {**built.env(), "SOPS_AGE_KEY": None, "SOPS_AGE_KEY_FILE": None}
    result = isp("release", fx.APPROVED, "-o", tmp_path / "out", "--repo", built.root, env=env)
    assert result.code == 1 and "SOPS_AGE_KEY" in result.err and len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_usage_errors(built: fx.ReleaseRepo) -> None:
    assert isp("release", fx.APPROVED, "--repo", built.root).code == 2
    assert isp("release", "sectoral", "-o", "x", "--repo", built.root).code == 2


# --- the package --------------------------------------------------------------------------------


def _texts(out: Path) -> dict[str, str]:
    """Every file of the package as text; the XLSX unzipped, every part of it."""
    texts = {}
    for path in sorted(out.iterdir()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                texts[path.name] = "\n".join(book.read(n).decode("utf-8") for n in book.namelist())
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def _readable(path: Path) -> str:
    """What a person reads in a file, whitespace collapsed (XLSX cells, HTML text unescaped)."""
    if path.suffix == ".xlsx":
        book = load_workbook(path, read_only=True)
        text = "\n".join(str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row if c)
    else:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return " ".join(text.split())


def test_the_package_has_every_file(package) -> None:
    _, out, report = package
    rid = report["release_id"]
    assert rid == f"REL-{fx.APPROVED}-1"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [f"{rid}.csv", f"{rid}-hxl.csv", f"{rid}.xlsx", f"{rid}.html", "README.txt", "metadata.json"]
    )
    assert all(not p.name.startswith(".") for p in out.parent.iterdir()), "no temporary folder left behind"


def test_no_sgbv_indicator_anywhere(package) -> None:
    repo, out, _ = package
    isp_ = loading.load(repo.root)
    sgbv = [ind for ind in isp_.indicators.values() if set(ind.tags) & set(isp_.protocol.sharing.never_external_tags)]
    assert sgbv
    for name, text in _texts(out).items():
        for ind in sgbv:
            for word in (ind.code, ind.name_en, ind.name_ar):
                assert word.lower() not in text.lower(), f"{name} mentions {word}"


def test_no_agency_identity_anywhere(package) -> None:
    """No agency is named; the one exception is ground rule 10's contact, the coordinators' focal
    points (their names and e-mails, taken out here before looking)."""
    repo, out, _ = package
    isp_ = loading.load(repo.root)
    contacts = [isp_.agencies[c].focal_points.primary for c in isp_.coordinators()]
    for name, whole in _texts(out).items():
        text = " ".join(whole.split())
        for person in contacts:
            text = text.replace(person.email, "").replace(person.name, "")
        for code, agency in isp_.agencies.items():
            assert not re.search(rf"\b{re.escape(code)}\b", text), f"{name} names {code}"
            for label in (agency.name, agency.label):
                assert not re.search(rf"\b{re.escape(label)}\b", text, re.IGNORECASE), f"{name} names {label}"
            for _, person in agency.focal_points.all():
                assert person.email not in text and person.name not in text


def _early_marriage_counts(repo: fx.ReleaseRepo) -> set[int]:
    """Every early-marriage count of the released cells that contains the canary (national, Amman,
    the other sites; every published breakdown), computed here from the submitted sheets."""
    frame = pd.concat(repo.frames.values(), ignore_index=True)
    q1 = frame[(frame["indicator"] == "concern_early_marriage") & frame["month"].isin(fx.MONTHS[:3])]
    found = set()
    for place in (q1, q1[q1["site"] == "JO11"], q1[q1["site"] != "JO11"]):
        for keys in ([], ["sex"], ["age_group"], ["nationality"], ["sex", "age_group"]):
            sums = place.groupby(keys)["count"].sum() if keys else pd.Series([place["count"].sum()])
            found |= {int(v) for v in sums if v >= fx.CANARY}
    return found


def test_no_early_marriage_count_anywhere(package) -> None:
    repo, out, _ = package
    counts = _early_marriage_counts(repo)
    assert counts, "the canary is in the submissions"
    for name, text in _texts(out).items():
        numbers = {int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", text)}
        assert not counts & numbers, f"{name} shows an early-marriage count"
    table = pd.read_csv(out / f"REL-{fx.APPROVED}-1.csv", comment="#", dtype=str, keep_default_na=False)
    early = table[table["indicator"] == "concern_early_marriage"]
    assert not early.empty and set(early["measure"]) == {"percent"}
    shown = early.loc[early["value"] != "", "value"].astype(float)
    assert ((shown >= 0) & (shown <= 100)).all()


def test_every_disclaimer_release_id_and_recipient_in_every_human_readable_file(package) -> None:
    repo, out, report = package
    disclaimers = [" ".join(d.split()) for d in loading.load(repo.root).protocol.sharing.disclaimers]
    recipient = report["recipient"]
    assert fx.RECIPIENT_NAME in recipient and fx.RECIPIENT_ORG in recipient
    for path in out.iterdir():
        text = _readable(path)
        assert report["release_id"] in text and recipient in text, path.name
        if path.name.endswith("-hxl.csv"):
            continue  # machine-readable: ID and recipient on every row; disclaimers in README/metadata
        for disclaimer in disclaimers:
            assert disclaimer in text, f"{path.name} lacks a disclaimer"
    book = load_workbook(out / f"{report['release_id']}.xlsx", read_only=True)
    for sheet in book:
        head = " ".join(str(c) for row in sheet.iter_rows(max_row=8, values_only=True) for c in row if c)
        assert report["release_id"] in head and recipient in head, sheet.title


def test_every_file_states_the_method_and_its_base(package) -> None:
    """Rounded figures are explained in every file a person reads (issue 11); no "hidden" mark."""
    _, out, report = package
    rid = report["release_id"]
    for name in (f"{rid}.csv", f"{rid}.xlsx", f"{rid}.html", "README.txt"):
        text = _readable(out / name)
        assert "Small-count rounding, base 5" in text and "rounded to 0 or 5" in text, name
        assert "marks a cell hidden" not in text, name
    hxl = list(csv.reader(io.StringIO((out / f"{rid}-hxl.csv").read_text(encoding="utf-8"))))
    column = hxl[1].index("#meta+method")
    assert all(row[column] == "small-count rounding, base 5" for row in hxl[2:])
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["disclosure_method"] == "small-count rounding, base 5"
    assert meta["languages"] == ["en"] and "disclosure_method_note_ar" not in meta


ARABIC = re.compile(r"[\u0600-\u06FF]")
BILINGUAL = "REQ-2026-020"


def test_an_english_release_has_no_arabic_anywhere(package) -> None:
    """The request does not ask for Arabic: every file is in English only."""
    _, out, _ = package
    for path in out.iterdir():
        assert not ARABIC.search(_readable(path)), path.name


def test_a_bilingual_release_states_the_method_attribution_and_undertaking_in_arabic_in_every_file(
    fresh: fx.ReleaseRepo, tmp_path: Path
) -> None:
    """``languages: [en, ar]`` on the request: every file carries the English notes and, in Arabic,
    the method paragraph with its base, the attribution (with the coordinators' e-mails) and the
    recipient's undertaking; the HTML report marks the Arabic block right to left."""
    loaded = loading.load(fresh.root)
    request_files.new_request(fresh.root, {**fx._request(BILINGUAL), "languages": ["en", "ar"]}, loaded)
    fresh.repo.commit("Issue a bilingual request", [request_models.path_of(BILINGUAL)], "UNHCR:primary")
    fx.decide_all(fresh.repo, BILINGUAL)
    out = tmp_path / "bilingual"
    result = isp("release", BILINGUAL, "-o", out, "--repo", fresh.root, "--json", env=fresh.env())
    assert result.code == 0, result.output
    contacts = [loaded.agencies[c].focal_points.primary.email for c in loaded.coordinators()]
    method_ar = "تقريب الأعداد الصغيرة، بأساس 5"
    attribution_ar, undertaking_ar = "هذه المعلومات سرّية", "لا يجوز للجهة المستلِمة أن تنقل هذه المعلومات"
    for path in out.iterdir():
        text = _readable(path)
        assert "Small-count rounding, base 5" in text or path.name.endswith(("-hxl.csv", ".json")), path.name
        assert "may not pass this information on to anyone else" in text, path.name
        for arabic in (method_ar, "إلى 0 أو 5", attribution_ar, undertaking_ar, *contacts):
            assert arabic in text, f"{path.name} lacks {arabic}"
    page = (out / f"REL-{BILINGUAL}-1.html").read_text(encoding="utf-8")
    block = re.search(r'<section class="arabic" lang="ar" dir="rtl"[^>]*>(.*?)</section>', page, re.S)
    assert block and method_ar in block.group(1) and undertaking_ar in block.group(1)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["languages"] == ["en", "ar"] and method_ar in meta["disclosure_method_note_ar"]
    assert any(undertaking_ar in c for c in meta["caveats_ar"])
    hxl = pd.read_csv(out / f"REL-{BILINGUAL}-1-hxl.csv", skiprows=[1], dtype=str, keep_default_na=False)
    assert (hxl["method_ar"].str.contains(method_ar)).all() and (
        hxl["attribution_ar"].str.contains(undertaking_ar)
    ).all()


def test_every_attribution_element_and_the_undertaking_in_every_file(package) -> None:
    """Ground rule 10 on every file of the release, HXL and metadata included; the contact is the
    coordinators' focal points of agencies.yaml; the recipient is told not to pass it on."""
    repo, out, _ = package
    loaded = loading.load(repo.root)
    contacts = [loaded.agencies[c].focal_points.primary.email for c in loaded.coordinators()]
    assert len(contacts) == 2
    names = sorted(p.name for p in out.iterdir())
    assert {n.rsplit(".", 1)[-1] for n in names} >= {"csv", "xlsx", "html", "txt", "json"}
    for path in out.iterdir():
        text = _readable(path)
        if path.suffix == ".json":
            text = " ".join(" ".join(json.loads(path.read_text())["caveats"]).split())
        assert attribution.missing_elements([text], loaded) == [], path.name
        assert all(email in text for email in contacts), path.name
        assert "may not pass this information on to anyone else" in text, path.name
        assert "referred to the CPIMS focal points of the coordinating agencies" in text, path.name
        assert "for HDX" not in text, path.name
    frame = pd.read_csv(next(out.glob("*-hxl.csv")), skiprows=[1], dtype=str, keep_default_na=False)
    assert all(attribution.missing_elements([row], loaded) == [] for row in set(frame["attribution"]))


def test_hxl_file(package) -> None:
    _, out, report = package
    lines = (out / f"{report['release_id']}-hxl.csv").read_text(encoding="utf-8").splitlines()
    tags = lines[1].split(",")
    assert all(t.startswith("#") for t in tags)
    for tag in ("#date+start", "#adm1+code", "#indicator+code", "#gender", "#age+range", "#indicator+num"):
        assert tag in tags
    frame = pd.read_csv(out / f"{report['release_id']}-hxl.csv", skiprows=[1], dtype=str, keep_default_na=False)
    assert set(frame["release_id"]) == {report["release_id"]} and set(frame["recipient"]) == {report["recipient"]}


def test_the_release_is_recorded_in_the_request(package) -> None:
    repo, out, report = package
    (recorded,) = request_files.load(repo.root, fx.APPROVED).releases
    assert recorded.id == report["release_id"] and recorded.recipient == report["recipient"]
    on_disk = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert recorded.files == on_disk
    meta = json.loads((out / "metadata.json").read_text())
    # the default profile rounds small counts (issue 11): nothing is suppressed, the method is stated
    assert meta["disclosure_profile"] == "external" and meta["suppressed_cells"] == report["suppressed_cells"] == 0
    assert meta["disclosure_method"] == "small-count rounding, base 5"
    assert (recorded.profile, recorded.suppressed_cells) == ("external", report["suppressed_cells"])
    ciphertext = repo.root / "aggregates" / "quarterly" / "2026-Q1.csv"
    assert meta["inputs"] == [
        {"path": "aggregates/quarterly/2026-Q1.csv", "sha256": hashlib.sha256(ciphertext.read_bytes()).hexdigest()}
    ]
    assert meta["source_commit"] == repo.repo.head()


def test_a_second_release_waits_for_the_record_to_be_committed(package, tmp_path: Path) -> None:
    repo, _, _ = package
    line = _refused(repo, tmp_path, fx.APPROVED)
    assert "not committed" in line


def test_a_second_release_keeps_the_first_ones_rounding(fresh: fx.ReleaseRepo, tmp_path: Path) -> None:
    """The first release records the commit its figures came from; the second rebuilds the first
    one's rounding from the aggregates at that commit (decrypted in memory) and keeps it, so the
    recipient holding both gets the same figures twice and learns nothing from the pair."""
    outs = []
    for n in (1, 2):
        out = tmp_path / f"release-{n}"
        result = isp("release", fx.APPROVED, "-o", out, "--repo", fresh.root, "--json", env=fresh.env())
        assert result.code == 0, result.output
        fresh.repo.commit(f"Record release {n}", [request_models.path_of(fx.APPROVED)], "UNHCR:primary")
        outs.append(json.loads(result.out)["release_id"])
    first, second = request_files.load(fresh.root, fx.APPROVED).releases
    assert first.source_commit and second.source_commit and first.profile == second.profile == "external"
    tables = [
        pd.read_csv(tmp_path / f"release-{n}" / f"{rid}.csv", comment="#", dtype=str, keep_default_na=False)
        for n, rid in zip((1, 2), outs, strict=True)
    ]
    assert tables[0][["period", *KEYS, "measure", "value"]].equals(tables[1][["period", *KEYS, "measure", "value"]])


# --- the independent audit ----------------------------------------------------------------------

KEYS = ["site", "indicator", "sex", "age_group", "nationality"]


def _truth(repo: fx.ReleaseRepo) -> pd.DataFrame:
    """The released leaves recomputed here from the submitted sheets (agency kept): 2026-Q1, flows
    summed, active cases from March; Amman apart, every other site as REST; `concern_other` as the
    package documents it (new cases minus the concerns shown separately)."""
    parts = []
    for agency, frame in repo.frames.items():
        q1 = frame[frame["month"].isin(fx.MONTHS[:3])]
        flows = q1[q1["indicator"] != "active_cases"].groupby(KEYS, as_index=False)["count"].sum()
        stock = q1[(q1["indicator"] == "active_cases") & (q1["month"] == fx.MONTHS[2])]
        both = pd.concat([flows, stock[[*KEYS, "count"]]], ignore_index=True)
        both["site"] = both["site"].where(both["site"] == "JO11", "REST")
        wide = both.pivot_table(index=KEYS[:1] + KEYS[2:], columns="indicator", values="count", aggfunc="sum")
        wide["concern_other"] = wide["new_cases"] - wide["concern_child_labour"]
        keep = ["new_cases", "active_cases", "concern_child_labour", "concern_other", "concern_early_marriage"]
        long = wide[keep].fillna(0).astype("int64").stack().rename("count").reset_index()
        parts.append(long.assign(agency=agency))
    out = pd.concat(parts, ignore_index=True)
    return out.astype({c: str for c in KEYS})


def test_the_published_tables_pass_an_independent_disclosure_audit(package) -> None:
    """Under the default profile (small-count rounding, base 5): every count is shown, every total
    is the sum of its published parts, and every cell of 1 to 4 children is published 0 or 5."""
    repo, out, report = package
    truth = _truth(repo).groupby(KEYS, as_index=False)["count"].sum()
    published = pd.read_csv(out / f"{report['release_id']}.csv", comment="#", dtype=str, keep_default_na=False)
    counts = published[published["measure"] == "count"]
    assert (counts["value"] != "").all(), "no count is blank under rounding"
    shown = {tuple(r[k] for k in KEYS): int(r["value"]) for _, r in counts.iterrows()}
    dims = ("sex", "age_group", "nationality")
    for key, value in shown.items():
        rest = key[2:]
        for i, dim in enumerate(dims):
            if rest[i] != "ALL":
                continue
            parts = [v for k, v in shown.items() if k[:2] == key[:2] and _same_but(k[2:], tuple(rest), i)]
            if parts:
                assert sum(parts) == value, f"{key} is not the sum of its parts by {dim}"
        true = _true_value(truth, key)
        if 1 <= true <= 4:
            assert value % 5 == 0, f"{key}: a small count is published unrounded"


def _same_but(labels: tuple[str, ...], total: tuple[str, ...], i: int) -> bool:
    return labels[i] != "ALL" and all(a == b for j, (a, b) in enumerate(zip(labels, total, strict=True)) if j != i)


def _true_value(leaves: pd.DataFrame, key: tuple[str, ...]) -> int:
    mask = pd.Series(True, index=leaves.index)
    for name, label in zip(KEYS, key, strict=True):
        if label != "ALL":
            mask &= leaves[name] == label
    return int(leaves.loc[mask, "count"].sum())


def test_an_approver_may_require_the_strict_profile(fresh: fx.ReleaseRepo, tmp_path: Path) -> None:
    """One agency approves on condition of the strict profile: the release uses it (cell
    suppression with the dominance rule), and it still passes the audit it passed before."""
    agency = loading.load(fresh.root).data_gathering()[0]
    rel = request_models.path_of(fx.APPROVED)
    request_files.decide(fresh.root, fx.APPROVED, agency, True, None, fx.DECIDED, profile="strict")
    fresh.repo.commit(f"{agency} approves on condition of the strict profile", [rel], f"{agency}:primary")
    out = tmp_path / "strict"
    result = isp("release", fx.APPROVED, "-o", out, "--repo", fresh.root, "--json", env=fresh.env())
    assert result.code == 0, result.output
    report = json.loads(result.out)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["disclosure_profile"] == "strict" and report["suppressed_cells"] > 0
    assert meta["disclosure_method"].startswith("cell suppression")
    _suppression_audit(fresh, out, report, "strict")


def test_an_unknown_or_unconditional_profile_is_refused(fresh: fx.ReleaseRepo) -> None:
    agency = loading.load(fresh.root).data_gathering()[0]
    args = ("request", "decide", fx.APPROVED, "--agency", agency, "--repo", fresh.root)
    wrong = isp(*args, "--approve", "--profile", "lenient")
    assert wrong.code == 1 and "not an external disclosure profile" in wrong.output
    denied = isp(*args, "--deny", "--reason", "no", "--profile", "strict")
    assert denied.code != 0 and "--profile" in denied.output


def _suppression_audit(repo: fx.ReleaseRepo, out: Path, report: dict, profile_name: str) -> None:
    """The independent audit of a suppression release (as before issue 11, with the profile given)."""
    from isp import disclosure
    from isp.disclosure import PercentTable, PublishedTable, Relation, Table

    profile = loading.load(repo.root).protocol.disclosure.profiles[profile_name]
    truth = _truth(repo)
    leaves = truth.groupby(KEYS, as_index=False)["count"].sum()
    published = pd.read_csv(out / f"{report['release_id']}.csv", comment="#", dtype=str, keep_default_na=False)
    shown = {
        (r.site, r.indicator, r.sex, r.age_group, r.nationality): (int(r.value) if r.value else None)
        for r in published.itertuples()
        if r.measure == "count"
    }
    percent = {
        (r.site, r.sex, r.age_group, r.nationality): (int(r.value) if r.value else None)
        for r in published.itertuples()
        if r.measure == "percent"
    }
    cats = {"site": ("JO11", "REST"), "sex": ("F", "M"), "age_group": ("0-5", "6-11", "12-17")}
    cats |= {"nationality": ("SYR", "JOR", "IRQ", "OTH")}
    counts = leaves[leaves["indicator"] != "concern_early_marriage"]
    cats["indicator"] = ("new_cases", "active_cases", "concern_child_labour", "concern_other")
    tables, percents = [], []
    for cols in (("sex", "age_group"), ("nationality",)):
        pad = {d: "ALL" for d in ("sex", "age_group", "nationality") if d not in cols}

        def make(frame, rows, where=None, cols=cols):
            return Table.from_frame(
                frame, rows, cols, where=where, margins=("site", *cols), categories=cats, total_label="ALL"
            )

        table = make(counts, ("site", "indicator"))
        values = {lab: shown[(*lab[:2], *_pad(lab[2:], cols, pad))] for lab in table.values()}
        tables.append(PublishedTable(table, values))
        num = make(leaves, ("site",), {"indicator": "concern_early_marriage"})
        den = make(leaves, ("site",), {"indicator": "new_cases"})
        pct = {lab: percent[(lab[0], *_pad(lab[1:], cols, pad))] for lab in num.values()}
        percents.append(PercentTable(num, den, pct, frozenset(_primary(num, truth, profile))))
    relation = Relation("indicator", "new_cases", ("concern_child_labour", "concern_other"))
    audit = disclosure.audit(tables, profile, contributions=truth, percentages=percents, relations=[relation])
    assert audit.ok, audit.lines(values=False)[:5]
    assert sum(v is None for t in tables for v in t.shown.values()) > 0


def _pad(labels: tuple[str, ...], cols: tuple[str, ...], pad: dict[str, str]) -> tuple[str, ...]:
    """Labels of one table's columns, placed among (sex, age_group, nationality)."""
    given = dict(zip(cols, labels, strict=True))
    return tuple(given.get(d, pad.get(d, "ALL")) for d in ("sex", "age_group", "nationality"))


def _primary(table, truth: pd.DataFrame, profile) -> list[tuple[str, ...]]:
    """Numerator cells the threshold or p% rule hides (computed here with the disclosure rules)."""
    import numpy as np

    from isp.disclosure import Table, dominance_unsafe, threshold_unsafe

    values = table.values()
    labels = list(values)
    shares = []
    for _, own in truth.groupby("agency"):
        mine = Table.from_frame(
            own.drop(columns="agency"),
            table.rows,
            table.cols,
            where=dict(table.where),
            margins=table.margins,
            categories=dict(table.categories),
            total_label="ALL",
        )
        shares.append(mine.values())
    contrib = np.array([[s[lab] for s in shares] for lab in labels], dtype=float)
    site_level = np.array([lab[0] != "ALL" for lab in labels])
    counts = np.array([values[lab] for lab in labels], dtype=float)
    hide = threshold_unsafe(counts, site_level, profile) | dominance_unsafe(contrib, profile.dominance_p)
    return [lab for lab, h in zip(labels, hide, strict=True) if h]


# --- the sectoral report --------------------------------------------------------------------------


def test_the_sectoral_report_is_a_release_of_its_standing_request(fresh: fx.ReleaseRepo, tmp_path: Path) -> None:
    out = tmp_path / "sectoral"
    args = ("release", "sectoral", "--half", "2026-H1", "-o", out, "--repo", fresh.root, "--json")
    result = isp(*args, env=fresh.env())
    assert result.code == 0, result.output
    report = json.loads(result.out)
    rid = report["release_id"]
    assert rid == f"REL-{fx.SECTORAL}-1" and "Ministry of Social Development" in report["recipient"]
    page = _readable(out / f"{rid}.html")
    assert "Sectoral report 2026-H1" in page and "Half-yearly sectoral report" in page
    for disclaimer in loading.load(fresh.root).protocol.sharing.disclaimers:
        assert " ".join(disclaimer.split()) in page
    table = pd.read_csv(out / f"{rid}.csv", comment="#", dtype=str, keep_default_na=False)
    assert "concern_sexual_violence" not in set(table["indicator"])
    assert set(table.loc[table["indicator"] == "concern_early_marriage", "measure"]) == {"percent"}
    assert (table["period"] == "2026-H1").all() and (table["measure"] == "count").any()
    assert [r.id for r in request_files.load(fresh.root, fx.SECTORAL).releases] == [rid]


def test_the_sectoral_report_waits_for_the_half_year_to_end(built: fx.ReleaseRepo, tmp_path: Path) -> None:
    result = isp(
        "release", "sectoral", "--half", "2026-H2", "-o", tmp_path / "o", "--repo", built.root, env=built.env()
    )
    assert result.code == 1 and "has not ended" in result.err and not (tmp_path / "o").exists()
    result = isp("release", "sectoral", "--half", "2026-H2", "--propose", "--repo", built.root, env=built.env())
    assert result.code == 1 and "ends on 2026-12-31" in result.err
    assert not (built.root / "requests" / "SECTORAL-2026-H2.yaml").exists()


def test_proposing_the_sectoral_report_writes_a_request_every_agency_must_approve(
    fresh: fx.ReleaseRepo, tmp_path: Path
) -> None:
    result = isp("release", "sectoral", "--half", "2025-H2", "--propose", "--repo", fresh.root, env=fresh.env())
    assert result.code == 0, result.output
    request = request_files.load(fresh.root, "SECTORAL-2025-H2")
    assert request.type == "external" and request.data.report == "sectoral" and request.data.periods == ["2025-H2"]
    problems = request_rules.content_problems(loading.load(fresh.root), request, {})
    assert [p.rule for p in problems] == ["withheld"]  # a warning: SGBV is asked for (all) but never leaves
    fresh.repo.commit("Propose the sectoral report 2025-H2", [request.path], "UNHCR:primary")
    line = _refused(fresh, tmp_path, "SECTORAL-2025-H2")
    assert "still waiting for" in line and "silence is never consent" in line


def test_a_briefing_note_is_refused_for_a_request_that_is_not_media_for_the_annual_report(
    fresh: fx.ReleaseRepo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = isp("release", fx.APPROVED, "--briefing-note", "-o", out, "--repo", fresh.root, env=fresh.env())
    assert result.code == 1 and not out.exists()
    assert "a briefing note answers a media request" in result.err and "Traceback" not in result.output


def test_a_media_request_for_the_annual_report_gives_the_cpswg_briefing_note(
    fresh: fx.ReleaseRepo, tmp_path: Path
) -> None:
    """The protocol's media route: the annual report's figures, agreed by every agency, in the
    sub-working group's briefing note; the same files, rules and attribution as every release."""
    media = fx._request("REQ-2026-009") | {
        "type": "media",
        "data": {"report": "annual", "periods": ["2026"], "indicators": fx.INDICATORS, "geography": "national"},
    }
    request_files.new_request(fresh.root, media, loading.load(fresh.root))
    fresh.repo.commit("Issue the media request", ["requests"], "UNHCR:primary")
    fx.decide_all(fresh.repo, "REQ-2026-009")
    out = tmp_path / "briefing"
    result = isp("release", "REQ-2026-009", "--briefing-note", "-o", out, "--repo", fresh.root, "--json",
                 env=fresh.env())  # fmt: skip
    assert result.code == 0, result.output
    page = _readable(next(out.glob("*.html")))
    assert "CPSWG media briefing note" in page and "Child Protection Sub-Working Group" in page
    assert attribution.missing_elements([page], loading.load(fresh.root)) == []


def test_the_june_sectoral_report_covers_the_six_most_recent_consolidated_months(
    fresh: fx.ReleaseRepo, tmp_path: Path
) -> None:
    """Named by its due month, the sectoral report covers what the protocol's calendar gives it:
    for June 2026, December 2025 to May 2026; its national figures are those months' sheets."""
    propose = isp(
        "release", "sectoral", "--half", "2026-06", "--propose", "--repo", fresh.root, env=fresh.env("2026-06-02")
    )
    assert propose.code == 0, propose.output
    fresh.repo.commit("Propose the June sectoral report", ["requests"], "UNHCR:primary")
    assert request_files.load(fresh.root, "SECTORAL-2026-06").data.periods == ["2025-12_2026-05"]
    fx.decide_all(fresh.repo, "SECTORAL-2026-06")
    out = tmp_path / "june"
    result = isp("release", "sectoral", "--half", "2026-06", "-o", out, "--repo", fresh.root, "--json",
                 env=fresh.env())  # fmt: skip
    assert result.code == 0, result.output
    rid = json.loads(result.out)["release_id"]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["periods"] == [{"label": "2025-12_2026-05", "first_month": "2025-12", "last_month": "2026-05"}]
    assert "Sectoral report 2025-12 to 2026-05" in _readable(out / f"{rid}.html")
    assert meta["inputs"] == [{"path": "submissions/*/2025-12..2026-05", "sha256": meta["inputs"][0]["sha256"]}]
    from isp.protocol.periods import custom_period
    from isp.release import sources
    from tests.helpers import patched_env

    with patched_env(fresh.env()):
        loaded = loading.load(fresh.root)
        figures, _ = sources.figures_of(fresh.root, loaded, custom_period("2025-12", "2026-05"), None)
    cell = (figures["site"] == "ALL") & (figures["indicator"] == "new_cases")  # leaf cells: their sum
    frame = pd.concat(fresh.frames.values(), ignore_index=True)
    expected = frame[(frame["indicator"] == "new_cases") & frame["month"].between("2025-12", "2026-05")]["count"].sum()
    assert int(figures.loc[cell, "count"].sum()) == int(expected) > 0
    wrong = isp("release", "sectoral", "--half", "2026-07", "--propose", "--repo", fresh.root, env=fresh.env())
    assert wrong.code == 2 and "due month" in wrong.err
