"""What every stage of the demo shares: the context (repository, keys, storyline, clock), the
progress it reports, and the records of stages and pull requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from isp.demo.commits import DemoGit, Merge, Signer
from isp.demo.story import AMMAN, Story
from isp.protocol import loading
from isp.protocol.models import Isp

KEY_DIR = ".demo-keys"
RELEASES = "releases"
AGENCIES = "protocol/agencies.yaml"


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
    """A stage has nothing to do in this story (no approved request, say); the reason is shown."""


@dataclass
class StageResult:
    name: str
    status: str  # done | skipped
    detail: str
    seconds: float = 0.0


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
    requests: dict[str, str] = field(default_factory=dict)  # request id -> the state the story expects
    site: Path | None = None
    pull_requests: int = 0
    credentials: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # timeline source -> why it stopped
    _isp: Isp | None = None

    def isp(self) -> Isp:
        """The protocol as loaded once (focal points and coordinators do not change in the story)."""
        if self._isp is None:
            self._isp = loading.load(self.root)
        return self._isp

    def isp_now(self) -> Isp:
        """The protocol as it stands now (suspensions included), read afresh."""
        return loading.load(self.root)

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
