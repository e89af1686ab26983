"""Benchmark of unlocking a site page in headless Chromium (issue 13): every unlock under a second.

Setup (not timed): an ISP repository from the template with real age keys, a year of synthetic
aggregates (``bench_site.write_aggregates``, the template's sites matrix), the site passphrases
(``isp site credentials``) and the site itself (``build_site``, both languages), served on
127.0.0.1 and opened in Debian's Chromium through Playwright, as the browser tests do.

Timed, from the key press to the page's content shown (the first widget ready, or the article's
heading), with an empty sessionStorage each time (nothing remembered):

- a members' page (explore/) with the members', the coordinators' and the last agency's
  passphrase (the last agency's entry was the last of the page's keystore: the worst case while
  the plugin tried every entry in turn);
- an agency's page with its own passphrase; the coordinators' page with theirs.

Each unlock also counts the PBKDF2 derivations the page ran (``crypto.subtle.deriveKey`` wrapped
before any script loads): one per unlock is the design; the time of one is the floor.

    python benchmarks/bench_unlock.py [--repeat 3] [--keep DIR]

Writes (merges into) benchmarks/results/unlock.json, one entry per label (``--label``, default
the current git branch).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_site import commit, save_result, setup_repository, write_aggregates

from isp.protocol import loading
from isp.protocol.periods import add_months, month_range

RESULTS = Path(__file__).resolve().parent / "results" / "unlock.json"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
USER, PASSWORD = "#mkdocs-content-user", "#mkdocs-content-password"
# the form is gone and every widget of the page has drawn itself
OPENED = """() => !document.getElementById("mkdocs-decrypt-form")
  && Array.from(document.querySelectorAll(".isp-widget")).every((n) => n.dataset.ispReady === "yes")"""
COUNT_DERIVATIONS = """
(() => {
  const derive = SubtleCrypto.prototype.deriveKey;
  window.ispDerivations = 0;
  SubtleCrypto.prototype.deriveKey = function () { window.ispDerivations += 1; return derive.apply(this, arguments); };
})();
"""


def scenarios(agencies: list[str]) -> list[tuple[str, str, str]]:
    """(name, page, level of the passphrase) for each timed unlock."""
    last, first = f"agency-{agencies[-1].lower()}", agencies[0].lower()
    return [
        ("members' page, members' passphrase", "explore/", "members"),
        ("members' page, coordinators' passphrase", "explore/", "coordinators"),
        (f"members' page, last agency's passphrase ({last})", "explore/", last),
        (f"agency page, its own passphrase (agency-{first})", f"agencies/{first}/monthly/", f"agency-{first}"),
        ("coordinators' page, coordinators' passphrase", "compliance/", "coordinators"),
    ]


def unlock_once(page, base: str, path: str, level: str, passphrase: str) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Seconds from the key press to the page's content, and the PBKDF2 derivations it ran."""
    page.goto(base + path)
    page.evaluate("sessionStorage.clear()")
    page.goto(base + path)
    page.wait_for_selector(PASSWORD, state="visible")
    if page.locator(USER).count():  # the form with "whose passphrase" (user/password mode)
        page.select_option(USER, level)
    page.fill(PASSWORD, passphrase)
    page.evaluate("window.ispDerivations = 0")
    start = page.evaluate("performance.now()")
    page.press(PASSWORD, "Enter")
    page.wait_for_function(OPENED, timeout=120_000)
    seconds = (page.evaluate("performance.now()") - start) / 1000
    return seconds, int(page.evaluate("window.ispDerivations"))


def measure(out: Path, passphrases: dict[str, str], agencies: list[str], repeat: int) -> dict[str, dict]:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    from isp.site import serve

    httpd, thread = serve.in_thread(out)
    base = serve.url(httpd)
    results: dict[str, dict] = {}  # type: ignore[type-arg]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            context.add_init_script(COUNT_DERIVATIONS)
            page = context.new_page()
            for name, path, level in scenarios(agencies):
                runs = [unlock_once(page, base, path, level, passphrases[level]) for _ in range(repeat)]
                seconds = [round(s, 3) for s, _ in runs]
                results[name] = {
                    "page": path,
                    "passphrase": level,
                    "seconds": seconds,
                    "median_s": round(statistics.median(seconds), 3),
                    "pbkdf2_derivations": sorted({d for _, d in runs}),
                }
                print(f"{name}: {seconds} s, derivations {results[name]['pbkdf2_derivations']}", file=sys.stderr)
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    return results


def prepare(base: Path, months: int) -> tuple[Path, str]:
    """The repository (made once; reused with --keep) and CI's age key."""
    root = base / "isp"
    if (base / "ci.agekey").exists():
        return root, (base / "ci.agekey").read_text().strip()
    from isp.fsutil import write_atomic
    from isp.site import credentials

    span = month_range("2025-01", add_months("2025-01", months - 1))
    os.environ["ISP_TODAY"] = f"{add_months(span[-1], 1)}-20"
    ci = setup_repository(root, span)
    write_aggregates(root, span, matrix=True)
    credentials.ensure(root)
    commit(root)
    write_atomic(base / "ci.agekey", (ci + "\n").encode(), mode=0o600)  # outside the repository
    return root, ci


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", help="Name of this run in results/unlock.json (default: the git branch).")
    parser.add_argument("--keep", type=Path, help="Keep (or reuse) the repository in this folder.")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="isp-bench-unlock-"))
    base.mkdir(parents=True, exist_ok=True)
    os.environ.pop("SOPS_AGE_KEY_FILE", None)
    root, ci = prepare(base, args.months)
    os.environ.setdefault("ISP_TODAY", f"{add_months('2025-01', args.months)}-20")
    os.environ["SOPS_AGE_KEY"] = ci
    from isp.site import credentials
    from isp.site.build import build_site

    isp = loading.load(root)
    report = build_site(root, strict=True)
    passphrases = credentials.load(root, isp)
    load = os.getloadavg()[0]
    timings = measure(report.out, passphrases, list(isp.agencies), args.repeat)
    label = (
        args.label
        or subprocess.run(
            ["git", "branch", "--show-current"], capture_output=True, text=True, cwd=Path(__file__).parent
        ).stdout.strip()
    )
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2),
        },
        "kdf": "PBKDF2-SHA256, 10^6 iterations (WebCrypto)",
        "budget_s": 1.0,
        "unlocks": timings,
    }
    save_result(RESULTS, label, result)
    if not args.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"{time.monotonic() - start:.0f} s in all", file=sys.stderr)
