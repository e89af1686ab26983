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

Stages whose module has not been written yet (or fails) are skipped with a message, so the demo
always builds what exists. The CI key decrypts in this process only (``SOPS_AGE_KEY`` is set in
``os.environ`` for the duration of the build and restored afterwards); no key is written
anywhere but the key folder.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pandas as pd

from isp import yamlfiles
from isp.crypto import keys, sops
from isp.demo import synthetic
from isp.demo.canaries import save as save_canaries
from isp.demo.commits import DemoGit, Merge, Signer, ssh_keygen
from isp.demo.story import AMMAN, MIN_MONTHS, Canary, Story, Submission, plan
from isp.errors import IspError, Problem, UsageError
from isp.fsutil import write_atomic
from isp.protocol import models as protocol
from isp.protocol import workdays
from isp.protocol.skeleton import init_repository
from isp.sheets import tidy

T = TypeVar("T")
MARKER = ".isp-demo"
KEY_DIR = ".demo-keys"
RELEASES = "releases"
AGENCIES = "protocol/agencies.yaml"
IGNORED = (f"/{KEY_DIR}/", f"/{MARKER}", f"/{RELEASES}/")


class Progress(Protocol):
    """Where the builder reports what it is doing (the CLI shows it with rich)."""

    def start(self, stage: str, total: int | None = None) -> None: ...
    def advance(self, steps: int = 1) -> None: ...
    def done(self, stage: str, detail: str) -> None: ...
    def skipped(self, stage: str, why: str) -> None: ...


class QuietProgress:
    def start(self, stage: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def done(self, stage: str, detail: str) -> None:
        pass

    def skipped(self, stage: str, why: str) -> None:
        pass


class StageSkipped(Exception):
    """A stage cannot run (its module is not there yet, say); the reason is shown to the user."""


@dataclass
class StageResult:
    name: str
    status: str  # done | skipped
    detail: str
    seconds: float = 0.0


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


@dataclass
class DemoContext:
    """What every stage needs: the repository, its keys, the storyline, and the clock."""

    root: Path
    key_dir: Path
    story: Story
    git: DemoGit
    ssh: dict[str, Path]
    age: dict[str, str]
    progress: Progress
    jobs: int
    suspending: bool = True
    requests: dict[str, str] = field(default_factory=dict)  # request id -> the state the story expects
    site: Path | None = None
    pull_requests: int = 0
    credentials: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # timeline source -> why it stopped
    _isp: protocol.Isp | None = None

    def isp(self) -> protocol.Isp:
        """The protocol as loaded once (focal points and coordinators do not change in the story)."""
        if self._isp is None:
            self._isp = protocol.load(self.root)
        return self._isp

    def isp_now(self) -> protocol.Isp:
        """The protocol as it stands now (suspensions included), read afresh."""
        return protocol.load(self.root)

    def signer(self, agency: str, role: str = "primary") -> Signer:
        focal = getattr(self.isp().agencies[agency].focal_points, role)
        return Signer(focal.name, focal.email, self.ssh[f"{agency}:{role}"])

    def merge(self, change: Change, when: datetime) -> None:
        """Commit ``change`` as its signer and merge it as the next pull request (a coordinator of
        another agency presses the button 20 to 90 minutes later)."""
        self.pull_requests += 1
        number = self.pull_requests
        agency = self.isp().agency_of_email(change.signer.email)
        mergers = [code for code in self.isp().coordinators() if code != agency] or self.isp().coordinators()
        merger = self.signer(mergers[number % len(mergers)])
        later = max(when, min(when + timedelta(minutes=20 + (number * 37) % 70), datetime.now(AMMAN)))
        self.git.pull_request(
            change.paths, change.message, change.signer, when, Merge(number, change.branch, merger, later)
        )

    def ci(self) -> Signer:
        return Signer("ISP continuous integration", "ci@example.org", None)

    def now(self, minutes: int = 0) -> datetime:
        """A moment on the demo's "today" for the stages that happen at the end: ``minutes`` after
        three hours ago (after 09:00 when today is pinned by ISP_TODAY), never in the future."""
        real = datetime.now(AMMAN)
        if real.date() == self.story.today:
            return min(real, real - timedelta(hours=3) + timedelta(minutes=minutes))
        morning = datetime.combine(self.story.today, datetime.min.time(), tzinfo=AMMAN)
        return morning + timedelta(hours=9, minutes=minutes)


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
    isp = protocol.load(root)
    validity = isp.protocol.validity
    if validity.in_force(today) and validity.review_date >= today:
        return
    with yamlfiles.edit(root / "protocol" / "protocol.yaml") as doc:
        _renew(doc, validity, today)


def _renew(doc: Any, validity: protocol.Validity, today: date) -> None:
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


def _make_keys(root: Path, key_dir: Path, isp: protocol.Isp) -> tuple[str, tuple[dict[str, str], dict[str, Path]]]:
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


# --- sheets ----------------------------------------------------------------------------------


def sheets(isp: protocol.Isp, story: Story, seed: int) -> Callable[[Submission], pd.DataFrame]:
    """The tidy frame each submission carries: synthetic figures, the canaries, the correction.

    A canary's cell holds the canary in its agency's sheet and zero in every other agency's, so the
    consolidated site-level cell shows the figure itself (inside the encrypted pages). A superseded
    canary is corrected to its last three digits (6007 was a slip for 7) in the revised version."""

    def value(canary: Canary, sub: Submission) -> int:
        if canary.agency != sub.agency:
            return 0
        return canary.value % 1000 if canary.superseded and sub.version > 1 else canary.value

    def frame(sub: Submission) -> pd.DataFrame:
        sheet = synthetic.month_sheet(isp, sub.agency, sub.month, seed=seed)
        for canary in story.canaries:
            if canary.month == sub.month:
                _set(sheet, canary, value(canary, sub))
        return sheet

    return frame


def _set(sheet: pd.DataFrame, canary: Canary, value: int) -> None:
    mask = pd.Series(True, index=sheet.index)
    for column, wanted in canary.cell().items():
        mask &= sheet[column] == wanted
    sheet.loc[mask, "count"] = value


Validator = Callable[..., tuple[pd.DataFrame | None, list[Problem]]]


def encrypted_sheet(
    ctx: DemoContext, frame_of: Callable[[Submission], pd.DataFrame], validate: Validator | None, sub: Submission
) -> bytes:
    """The envelope for one submission, made as `isp submit` makes it but without a plaintext file:
    validated in memory (when the validation module exists), normalised, encrypted on a pipe."""
    data = tidy.to_csv(frame_of(sub))
    if validate is not None:
        frame, problems = validate(data, f"{sub.agency}-{sub.month}.csv", ctx.isp(), sub.agency, sub.month)
        errors = [p for p in problems if p.severity == "error"]
        if frame is None or errors:
            raise IspError(f"the demo's own sheet {sub.path} fails validation: {errors[0] if errors else 'unreadable'}")
        data = tidy.to_csv(frame)
    return sops.encrypt(ctx.root, sub.path, data)


def sheet_validator() -> Validator | None:
    from isp.demo.stages import StageSkipped, optional

    try:
        return optional("sheets.validate", "validate_bytes").validate_bytes  # type: ignore[no-any-return]
    except StageSkipped:
        return None


def _message(sub: Submission, story: Story) -> str:
    if sub.version > 1:
        return (
            f"{sub.agency}: corrected tracking sheet for {sub.month}\n\n"
            "One cell of family tracing and reunification was mistyped in the first version."
        )
    text = f"{sub.agency}: tracking sheet for {sub.month}"
    if sub.late:
        text += "\n\nSent after the deadline: our information management officer was on leave."
    return text


# --- the timeline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What one pull request brings: the files, the message, the signer, the branch name."""

    paths: list[str]
    message: str
    signer: Signer
    branch: str


@dataclass(frozen=True)
class Event:
    """Something that happens at ``when``: it writes files and returns the pull requests to make."""

    when: datetime
    label: str
    act: Callable[[], list[Change]]
    source: str = "sheets"  # a governance source's events may fail without stopping the demo


def submission_events(ctx: DemoContext, seed: int) -> tuple[list[Event], Callable[[], None]]:
    """One event per sheet; encryption runs ahead in a thread pool while commits go in order."""
    isp = ctx.isp()
    frame_of = sheets(isp, ctx.story, seed)
    pool = ThreadPoolExecutor(max_workers=ctx.jobs)
    validate = sheet_validator()
    ctx.isp()  # loaded once, before the threads share it
    futures = {sub: pool.submit(encrypted_sheet, ctx, frame_of, validate, sub) for sub in ctx.story.submissions}

    def event(sub: Submission) -> Event:
        def act() -> list[Change]:
            write_atomic(ctx.root / sub.path, futures[sub].result())
            ctx.progress.advance()
            branch = f"{sub.agency.lower()}/{'correct' if sub.version > 1 else 'sheet'}-{sub.month}"
            return [Change([sub.path], _message(sub, ctx.story), ctx.signer(sub.agency), branch)]

        return Event(sub.when, f"{sub.agency} {sub.month}", act)

    return [event(sub) for sub in ctx.story.submissions], lambda: pool.shutdown(cancel_futures=True)


def replay(ctx: DemoContext, events: list[Event]) -> int:
    """Run the events in date order; each change becomes a signed commit merged as a pull request.
    Returns the number of pull requests."""
    before = ctx.pull_requests
    for event in sorted(events, key=lambda e: e.when):
        if event.source in ctx.failed:
            continue
        try:
            changes = event.act()
        except Exception as exc:
            if event.source == "sheets" or os.environ.get("ISP_DEBUG") == "1":
                raise
            ctx.failed[event.source] = f"{event.label} failed ({type(exc).__name__}: {_one_line(exc)})"
            ctx.git.discard_changes()
            continue
        for change in changes:
            ctx.merge(change, event.when)
    return ctx.pull_requests - before


def _one_line(exc: Exception) -> str:
    """An IspError's own message (written to carry no figure); for anything else only its type."""
    return str(exc).splitlines()[0][:200] if isinstance(exc, IspError) else "see ISP_DEBUG=1"


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
    from isp.demo import stages as demo_stages

    if options.months < MIN_MONTHS:
        raise UsageError(f"--months must be at least {MIN_MONTHS} (the storyline needs that many)")
    started = time.monotonic()
    progress = progress or QuietProgress()
    root = options.target.resolve()
    prepare_target(root, options.force)
    today = workdays.today()
    repository, _ = _timed(progress, "repository", lambda: (_repository(root, today), None))
    key_dir = root / KEY_DIR
    keyed, (age, ssh) = _timed(progress, "keys", lambda: _make_keys(root, key_dir, protocol.load(root)))
    setup = [repository, keyed]
    suspending = demo_stages.available("governance.membership", "suspend")
    story = plan(protocol.load(root), options.months, today, options.seed, suspend=suspending)
    save_canaries(key_dir, story.canaries)
    jobs = options.jobs or max(2, os.cpu_count() or 2)
    ctx = DemoContext(root, key_dir, story, DemoGit(root), ssh, age, progress, jobs, suspending=suspending)
    with ci_key(age["ci"]):
        first = ctx.signer(ctx.isp().coordinators()[0])
        ctx.git.commit(["."], "Start the ISP repository: protocol, keys and signers", first, story.start)
        stages = setup + demo_stages.run_all(ctx, options.seed)
    summary = _summary(ctx, stages)
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


def _summary(ctx: DemoContext, stages: list[StageResult]) -> DemoSummary:
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
        suspension=_suspension_summary(story) if ctx.suspending else None,
        requests=dict(ctx.requests),
        stages=stages,
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


def site_server(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    """The site helper's server when it exists (quiet, 127.0.0.1 only), else the standard library's."""
    from isp.demo.stages import StageSkipped, optional

    try:
        return optional("site.serve", "server").server(folder, port)  # type: ignore[no-any-return]
    except StageSkipped:
        pass
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise IspError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): try --port") from None


def serve(summary: DemoSummary, port: int) -> None:
    """Serve the built site on 127.0.0.1 until interrupted."""
    if summary.site is None or not summary.site.is_dir():
        raise IspError("no site was built (see the skipped stages above): nothing to serve")
    server = site_server(summary.site, port)
    from isp.cli.output import console

    console.print(f"Serving the demo site on [bold]http://127.0.0.1:{port}/[/bold] (Ctrl-C to stop)")
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console.print("stopped")
