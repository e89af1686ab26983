"""Loading protocol/*.yaml: read each file, validate it against its model, then cross-check them.

``load(root)`` returns the :class:`~isp.protocol.models.Isp` bundle that every other module reads
its rules from. Errors name the file and the field, one line each, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from isp import errors, yamlfiles
from isp.errors import Problem, ValidationFailed
from isp.protocol import checks
from isp.protocol.models import Agencies, Indicators, Isp, Model, Protocol, Sites

PROTOCOL_FILES = ("protocol.yaml", "agencies.yaml", "sites.yaml", "indicators.yaml")

M = TypeVar("M", bound=Model)


def protocol_dir(root: Path) -> Path:
    return root / "protocol"


def _read_yaml(path: Path, root: Path) -> object:
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    if not path.exists():
        raise ValidationFailed([Problem.of(errors.MISSING_FILE, rel, fix="run `isp init` or restore it from git")])
    try:
        return yamlfiles.load_file(path, root=root) or {}
    except yamlfiles.YamlError as exc:
        return ValidationFailed([exc.problem])


def _parse(model: type[M], path: Path, root: Path, problems: list[Problem]) -> M | None:
    """``model`` validated from ``path``, or None with the reasons added to ``problems``."""
    data = _read_yaml(path, root)
    rel = path.relative_to(root).as_posix()
    if isinstance(data, ValidationFailed):
        problems.extend(data.problems)
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(yamlfiles.schema_problems(exc, rel))
        return None


def load(root: Path, check: bool = True) -> Isp:
    """Load protocol/ under ``root``; raise :class:`ValidationFailed` listing every problem."""
    root = root.resolve()
    folder = protocol_dir(root)
    problems: list[Problem] = []
    protocol_name, agencies_name, sites_name, indicators_name = PROTOCOL_FILES
    protocol = _parse(Protocol, folder / protocol_name, root, problems)
    agencies = _parse(Agencies, folder / agencies_name, root, problems)
    sites = _parse(Sites, folder / sites_name, root, problems)
    indicators = _parse(Indicators, folder / indicators_name, root, problems)
    # _parse returns None only after adding a problem, so the None checks narrow the types only.
    if problems or protocol is None or agencies is None or sites is None or indicators is None:
        raise ValidationFailed(problems, f"{len(problems)} problem(s) in protocol/")
    isp = Isp(root, protocol, agencies, sites, indicators)
    if check:
        problems = cross_check(isp)
        if [p for p in problems if p.severity == "error"]:
            raise ValidationFailed(problems, f"{len(problems)} problem(s) in protocol/")
    return isp


def cross_check(isp: Isp) -> list[Problem]:
    """Rules that span files: sites, tags, groups, focal points, recipients."""
    return checks.all_problems(isp)
