"""Helpers shared by the tests: running `isp` in-process, keys, and signed commits in real repos.

Nothing here mocks git, sops or age: repositories are real, commits are really SSH-signed, and
files are really encrypted by the sops binary.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from isp.crypto import keys
from isp.protocol import loading
from isp.protocol import models as protocol

# The repository checkout; tests find files from it, never from their own location (they move).
REPO_ROOT = Path(__file__).resolve().parents[1]
AGENCIES = ("IRC", "IMC", "JRF", "NHF", "UNHCR", "UNICEF")
ROLES = ("primary", "secondary", "signatory")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@contextlib.contextmanager
def patched_env(env: Mapping[str, str | None] | None) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name, value in (env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def isp(*args: str | Path, env: Mapping[str, str | None] | None = None, cwd: Path | None = None) -> Result:
    """Run the real `isp` entry point in this process and capture what it prints."""
    from isp.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    code = 0
    old_cwd = Path.cwd()
    with patched_env(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if cwd:
                os.chdir(cwd)
            run([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(old_cwd)
    return Result(code, out.getvalue(), err.getvalue())


def ssh_keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


@dataclass
class Keyring:
    """Age identities per agency and for CI, and SSH keys per focal point (plus a stranger's)."""

    folder: Path
    age_secret: dict[str, str] = field(default_factory=dict)
    age_public: dict[str, str] = field(default_factory=dict)
    ssh: dict[str, Path] = field(default_factory=dict)  # "IRC:primary" -> private key path

    def age_file(self, owner: str) -> Path:
        path = self.folder / f"{owner}.agekey"
        if not path.exists():
            path.write_text(self.age_secret[owner] + "\n")
            path.chmod(0o600)
        return path

    def env(self, owner: str) -> dict[str, str | None]:
        """Environment in which ``owner``'s age key decrypts."""
        return {"SOPS_AGE_KEY": self.age_secret[owner], "SOPS_AGE_KEY_FILE": None}


def make_keyring(folder: Path) -> Keyring:
    from isp.crypto.sops import new_identity

    folder.mkdir(parents=True, exist_ok=True)
    ring = Keyring(folder)
    for owner in (*AGENCIES, "ci"):
        ring.age_secret[owner], ring.age_public[owner] = new_identity()
    for agency in AGENCIES:
        for role in ROLES:
            ring.ssh[f"{agency}:{role}"] = ssh_keygen(folder / f"{agency}-{role}", f"{agency}-{role}")
    ring.ssh["stranger"] = ssh_keygen(folder / "stranger", "stranger")
    return ring


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class IspRepo:
    """A real ISP repository in a temp dir, keyed and committed."""

    root: Path
    keyring: Keyring

    def load(self) -> protocol.Isp:
        return loading.load(self.root)

    def email(self, agency: str, role: str = "primary") -> str:
        return getattr(self.load().agencies[agency].focal_points, role).email

    def commit(
        self, message: str, paths: list[str] | None = None, signer: str | None = None, email: str | None = None
    ) -> str:
        """Commit (all changes, or ``paths``), SSH-signed by ``signer`` ("IRC:primary",
        "stranger"...) or unsigned when ``signer`` is None. Returns the commit id."""
        git(self.root, "add", "--all", *(["--", *paths] if paths else []))
        author = email or (self.email(*signer.split(":")) if signer and ":" in signer else "nobody@example.org")
        opts = ["-c", f"user.email={author}", "-c", f"user.name={self.name_of(author)}"]
        if signer:
            opts += ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.keyring.ssh[signer]}"]
        git(
            self.root, *opts, "commit", "--allow-empty", "-q", "-m", message, *(["-S"] if signer else ["--no-gpg-sign"])
        )
        return git(self.root, "rev-parse", "HEAD").strip()

    def name_of(self, email: str) -> str:
        """The name agencies.yaml declares for ``email`` (the part before @ for anyone else, and
        while the working tree's protocol does not load: some tests commit a broken one)."""
        try:
            people = [p for agency in self.load().agencies.values() for _, p in agency.people()]
        except Exception:  # any protocol a test broke on purpose
            people = []
        return next((p.name for p in people if p.email.lower() == email.lower()), email.split("@")[0])

    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD").strip()


def make_isp_repo(root: Path, ring: Keyring, signers: bool = True) -> IspRepo:
    """`isp init`, every agency's and CI's age recipient, every focal point's SSH key, `keys sync`,
    and a first commit signed by a coordinator."""
    from isp.protocol.skeleton import init_repository

    init_repository(root)
    git(root, "init", "-q", "-b", "main")
    for owner in (*AGENCIES, "ci"):
        keys.add_recipient(root, owner, ring.age_public[owner])
    if signers:
        isp_ = loading.load(root)
        for agency in AGENCIES:
            for role in ROLES:
                email = getattr(isp_.agencies[agency].focal_points, role).email
                keys.add_signer(root, agency, email, Path(f"{ring.ssh[f'{agency}:{role}']}.pub"))
    keys.sync(root)
    repo = IspRepo(root, ring)
    repo.commit("Start the ISP repository", signer="UNHCR:primary")
    return repo


def write_submission(repo: IspRepo, agency: str, month: str, frame=None, seed: int = 2015) -> Path:
    """Encrypt a tidy sheet (synthetic unless ``frame`` is given) into submissions/A/M.csv,
    straight through sops, without validation; the caller commits it."""
    from isp.crypto import sops
    from isp.demo import synthetic
    from isp.fsutil import write_atomic
    from isp.sheets import tidy

    isp_ = repo.load()
    frame = synthetic.month_sheet(isp_, agency, month, seed=seed) if frame is None else frame
    rel = f"submissions/{agency}/{month}.csv"
    write_atomic(repo.root / rel, sops.encrypt(repo.root, rel, tidy.to_csv(frame)))
    return repo.root / rel


@contextlib.contextmanager
def git_home(home: Path) -> Iterator[None]:
    """The conftest's clean git environment, for fixtures wider than one test (module and session
    fixtures start before the per-test one, so they set up their own)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = ISP Test\n\temail = test@example.org\n[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
    )
    drop: dict[str, str | None] = {name: None for name in os.environ if name.startswith(("GIT_", "SOPS_"))}
    env: dict[str, str | None] = {
        **drop,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "SOPS_DISABLE_VERSION_CHECK": "1",
    }
    with patched_env(env):
        yield


def commit_at(repo: IspRepo, message: str, when: str, signer: str | None = "IRC:primary") -> str:
    """A signed commit whose committer (and author) date is ``when`` (ISO 8601 with offset)."""
    with patched_env({"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}):
        return repo.commit(message, signer=signer)


def new_ssh_key(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return ssh_keygen(folder / name, name)
