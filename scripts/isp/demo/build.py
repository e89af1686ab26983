"""`isp demo`: a complete synthetic ISP, from keys to a browsable site, in one folder.

The builder replays the storyline of :mod:`isp.demo.story` in a fresh repository:

1. ``isp init``, a git repository, and keys: an age identity for every agency and for CI, and an
   SSH signing key for every focal point, all in ``DIR/.demo-keys/`` (git-ignored);
2. every month's tracking sheet per agency, encrypted with sops (in parallel) and committed on
   its own (in order), SSH-signed by the agency's primary focal point and dated a few working
   days before the deadline; one sheet arrives late, one is corrected by a second commit;
3. the governance story, dated where it belongs in the history: a suspension, a breach resolved
   by every signatory, requests in every state (each decision signed by the agency's focal point);
4. consolidation, the release of the approved request, and the site.

Every change (a sheet, a decision, an agreement, a suspension) arrives as a pull request: the
focal point's SSH-signed commit, merged into ``main`` with ``--no-ff`` by a coordinator of another
agency, so the signed commit stays the merge's second parent (as GitHub keeps it; the merge itself
is unsigned, like GitHub's merge button). CI's consolidation commit goes straight to ``main``.

A governance story or a later stage that a rule refuses (an :class:`~isp.errors.IspError`) is
reported as skipped with its reason and the demo goes on; any other failure stops it. The CI key
decrypts in this process only (``SOPS_AGE_KEY`` is set in ``os.environ`` for the duration of the
build and restored afterwards); no key is written anywhere but the key folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from isp import yamlfiles
from isp.crypto import keys
from isp.demo import stages
from isp.demo.canaries import save as save_canaries
from isp.demo.commits import DemoGit, ssh_keygen
from isp.demo.context import KEY_DIR, RELEASES, DemoContext, Progress, QuietProgress, StageResult
from isp.demo.story import MIN_MONTHS, Story, plan
from isp.errors import IspError, UsageError
from isp.fsutil import write_atomic
from isp.protocol import loading, workdays
from isp.protocol.models import Isp, Validity
from isp.protocol.skeleton import init_repository
from isp.site import serve as site_serve

T = TypeVar("T")
MARKER = ".isp-demo"
IGNORED = (f"/{KEY_DIR}/", f"/{MARKER}", f"/{RELEASES}/")


@dataclass
class DemoSummary:
    root: Path
    key_dir: Path
    months: tuple[str, str]
    agencies: list[str]
    submissions: int
    commits: int
    late: dict[str, str]
    revised: dict[str, str]
    canaries: int
    suspension: dict[str, str] | None = None
    requests: dict[str, str] = field(default_factory=dict)
    stages: list[StageResult] = field(default_factory=list)
    site: Path | None = None
    pull_requests: int = 0
    credentials: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "key_dir": str(self.key_dir),
            "months": list(self.months),
            "agencies": self.agencies,
            "submissions": self.submissions,
            "commits": self.commits,
            "late": self.late,
            "revised": self.revised,
            "canaries": self.canaries,
            "suspension": self.suspension,
            "requests": self.requests,
            "stages": [vars(s) for s in self.stages],
            "site": str(self.site) if self.site else None,
            "credentials": self.credentials,
            "seconds": round(self.seconds, 1),
        }


# --- the folder ------------------------------------------------------------------------------


def prepare_target(target: Path, force: bool) -> None:
    """Refuse a non-empty folder unless it is an earlier demo and ``force`` is given."""
    if not target.exists() or not any(target.iterdir()):
        return
    if not (target / MARKER).exists():
        raise IspError(f"{target} is not empty and is not a demo folder: choose a new folder")
    if not force:
        raise IspError(f"{target} holds an earlier demo: add --force to rebuild it")
    shutil.rmtree(target)


def _ignore_demo_files(root: Path) -> None:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = "".join(f"{line}\n" for line in IGNORED if line not in text.splitlines())
    header = "# the demo's keys, marker and release packages (isp demo)\n"
    path.write_text(text.rstrip("\n") + "\n" + header + lines, encoding="utf-8")


def _keep_in_force(root: Path, today: date) -> None:
    """Add yearly renewals to protocol.yaml until ``today`` is in force (a demo is always current)."""
    isp = loading.load(root)
    validity = isp.protocol.validity
    if validity.in_force(today) and validity.review_date >= today:
        return
    with yamlfiles.edit(root / "protocol" / "protocol.yaml") as doc:
        _renew(doc, validity, today)


def _renew(doc: Any, validity: Validity, today: date) -> None:
    periods = doc["validity"]["periods"]
    last = validity.periods[-1]
    while not validity.in_force(today) or last.end < today:
        start = last.end + timedelta(days=1)
        periods.append({"start": start, "months": last.months, "basis": "renewal"})
        last = type(last)(start=start, months=last.months, basis="renewal")
        validity = type(validity)(
            effective=validity.effective,
            term_months=validity.term_months,
            periods=[*validity.periods, last],
            review_date=last.end - timedelta(days=30),
        )
    doc["validity"]["review_date"] = validity.review_date


def _make_keys(root: Path, key_dir: Path, isp: Isp) -> tuple[str, tuple[dict[str, str], dict[str, Path]]]:
    """Age identities (agencies and CI) and SSH keys (every focal point), registered and synced."""
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    age: dict[str, str] = {}
    for owner in (*isp.agencies, "ci"):
        path = key_dir / f"{owner}.agekey"
        keys.new_key(root, owner, path)
        age[owner] = _secret(path)
    ssh: dict[str, Path] = {}
    for code, agency in isp.agencies.items():
        for role, focal in agency.focal_points.all():
            private = ssh_keygen(key_dir / f"{code}-{role}", f"{focal.email} (demo)")
            keys.add_signer(root, code, focal.email, private.with_name(private.name + ".pub"))
            ssh[f"{code}:{role}"] = private
    keys.sync(root)
    return f"{len(age)} age identities, {len(ssh)} SSH signing keys in {KEY_DIR}/", (age, ssh)


def _secret(path: Path) -> str:
    return next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("AGE-SECRET-KEY-"))


@contextlib.contextmanager
def ci_key(secret: str) -> Iterator[None]:
    """``SOPS_AGE_KEY`` set to the CI identity for this process only, restored afterwards."""
    saved = {name: os.environ.get(name) for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE")}
    os.environ["SOPS_AGE_KEY"] = secret
    os.environ.pop("SOPS_AGE_KEY_FILE", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- the whole build -------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOptions:
    target: Path
    months: int = 26
    seed: int = 2015
    force: bool = False
    jobs: int = 0  # 0: one sops process per core, at least two


def build(options: DemoOptions, progress: Progress | None = None) -> DemoSummary:
    """Build the demo in ``options.target``; see the module docstring for what it holds."""
    if options.months < MIN_MONTHS:
        raise UsageError(f"--months must be at least {MIN_MONTHS} (the storyline needs that many)")
    started = time.monotonic()
    progress = progress or QuietProgress()
    root = options.target.resolve()
    prepare_target(root, options.force)
    today = workdays.today()
    repository, _ = _timed(progress, "repository", lambda: (_repository(root, today), None))
    key_dir = root / KEY_DIR
    keyed, (age, ssh) = _timed(progress, "keys", lambda: _make_keys(root, key_dir, loading.load(root)))
    setup = [repository, keyed]
    story = plan(loading.load(root), options.months, today, options.seed)
    save_canaries(key_dir, story.canaries)
    jobs = options.jobs or max(2, os.cpu_count() or 2)
    ctx = DemoContext(root, key_dir, story, DemoGit(root), ssh, age, progress, jobs)
    with ci_key(age["ci"]):
        first = ctx.signer(ctx.isp().coordinators()[0])
        ctx.git.commit(["."], "Start the ISP repository: protocol, keys and signers", first, story.start)
        results = setup + stages.run_all(ctx, options.seed)
    summary = _summary(ctx, results)
    summary.seconds = time.monotonic() - started
    return summary


def _timed(progress: Progress, name: str, step: Callable[[], tuple[str, T]]) -> tuple[StageResult, T]:
    """Run a stage that every demo needs (no skipping): its report and its value."""
    progress.start(name)
    started = time.monotonic()
    detail, value = step()
    progress.done(name, detail)
    return StageResult(name, "done", detail, round(time.monotonic() - started, 1)), value


def _repository(root: Path, today: date) -> str:
    """`isp init`, the demo's marker and ignore lines, `git init`, and a protocol in force today."""
    init_repository(root)
    write_atomic(root / MARKER, b"Built by `isp demo`; `isp demo --force` may delete this folder.\n")
    _ignore_demo_files(root)
    DemoGit(root).init()
    _keep_in_force(root, today)
    return f"`isp init` and `git init` in {root}"


def _summary(ctx: DemoContext, results: list[StageResult]) -> DemoSummary:
    story = ctx.story
    return DemoSummary(
        root=ctx.root,
        key_dir=ctx.key_dir,
        months=(story.months[0], story.months[-1]),
        agencies=story.submitters,
        submissions=len(story.submissions),
        commits=ctx.git.count(),
        late={"agency": story.late.agency, "month": story.late.month},
        revised={"agency": story.revised.agency, "month": story.revised.month},
        canaries=len(story.canaries),
        suspension=_suspension_summary(story),
        requests=dict(ctx.requests),
        stages=results,
        site=ctx.site,
        credentials=dict(ctx.credentials),
    )


def _suspension_summary(story: Story) -> dict[str, str]:
    plan = story.suspension
    return {"agency": plan.agency, "from": plan.start, "to": plan.end, "reason": plan.reason}


# --- serving ---------------------------------------------------------------------------------


def check_port(port: int) -> None:
    """Refuse early when 127.0.0.1:``port`` is taken."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise IspError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): choose another --port") from None


def serve(summary: DemoSummary, port: int, say: Callable[[str], None]) -> None:
    """Serve the built site on 127.0.0.1 until interrupted; ``say`` shows where (the CLI prints it)."""
    if summary.site is None or not summary.site.is_dir():
        raise IspError("no site was built (see the skipped stages above): nothing to serve")
    with site_serve.server(summary.site, port) as server:
        say(f"Serving the demo site on {site_serve.url(server)} (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            say("stopped")
