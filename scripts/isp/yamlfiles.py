"""The one YAML reader and writer: bounded safe loads, comment-preserving edits, schema problems.

Reading (:func:`load`, :func:`load_file`) uses PyYAML's safe loader, on libyaml when it is
installed (several times faster), and treats every document as hostile, because files come from
members' branches: a document over ``max_bytes``, nesting deeper than ``max_depth``, any alias
(an anchor bomb expands a few lines into billions of nodes), a repeated mapping key (PyYAML
silently keeps the last, so a reviewer reads one value and the code another; a key a merge key
``<<`` brings in counts) and a ``!!binary``, ``!!set``, ``!!omap`` or ``!!pairs`` value are refused with
one :class:`YamlError` line naming the file and the rule. No project file needs aliases; callers
that must accept them pass ``allow_aliases`` and still get a bound on the expanded size.

Writing goes through ruamel.yaml's round-trip mode (:func:`edit`, :func:`dump`), which keeps the
comments, order and quoting a member wrote; :func:`dump_data` writes plain generated files.
:func:`schema_problems` is the one conversion of pydantic errors into :class:`Problem` records.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from isp import errors
from isp.errors import ErrorCode, IspError, Problem, ValidationFailed
from isp.fsutil import write_text_atomic

MAX_BYTES = 1_000_000
UNSAFE_TEXT_TYPE = "unsafe_text"  # the pydantic error type RecordModel raises
MAX_DEPTH = 32
MAX_EXPANDED_NODES = 100_000  # with allow_aliases: nodes counted as if every alias were copied out
Indent = tuple[int, int, int]  # ruamel's (mapping, sequence, offset)
Mapping = dict[str, Any]  # a loaded YAML mapping: its values are whatever the document holds
Document = CommentedMap  # a mapping being edited: comments, order and quoting kept

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PlainDumper(yaml.SafeDumper):
    """PyYAML's safe dumper writing a value shared by two keys out twice, never as an alias."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class YamlError(IspError):
    """A YAML file that cannot be read safely; one line naming the file, the line and the rule."""

    def __init__(
        self, source: str, error: ErrorCode, row: int | None = None, fix: str | None = None, **values: object
    ) -> None:
        self.problem = Problem.filled(error, source, values, row=row, fix=fix)
        super().__init__(str(self.problem))


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]  # CSafeLoader is untyped
    """The safe loader, refusing a mapping that repeats a key."""

    source = "<yaml>"
    merge_overrides = False  # with aliases allowed, `<<: *base` then `key: other` is the override idiom

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """A mapping with fewer keys than pairs had a repeated key: only then are the keys
        compared one by one. With a merge key (``<<``) they always are, and, unless aliases are
        allowed (the ``<<: *base`` override idiom), the merged keys with the explicit ones: with
        no alias to point at, an override is only a repeated key a reviewer may read wrongly."""
        pairs = len(node.value)
        merged = any(key.tag == _MERGE for key, _ in node.value)
        if merged:
            self._refuse_duplicates(node)
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        if not merged and len(mapping) < pairs:
            self._refuse_duplicates(node)
        return mapping

    def _refuse_duplicates(self, node: MappingNode) -> None:
        seen: dict[Hashable, int] = {}
        own = [key for key, _ in node.value if key.tag != _MERGE]
        for key_node in own if self.merge_overrides else _keys_with_merged(node):
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable):
                continue
            if key in seen:
                raise YamlError(
                    self.source,
                    errors.YAML_DUPLICATE_KEY,
                    row=line,
                    fix="keep one of them",
                    key=_short(key),
                    first=seen[key],
                    line=line,
                )
            seen[key] = line


_MERGE = "tag:yaml.org,2002:merge"
# Types the safe loader builds that no protocol file writes: `!!binary` shows a reviewer base64
# while the tool reads the decoded text; sets and ordered pairs are not what the models expect.
_REFUSED_TAGS = ("binary", "set", "omap", "pairs")


def _refuse_tag(loader: _Loader, node: Node) -> Any:
    raise YamlError(loader.source, errors.YAML_TAG, row=_row(node), tag="!!" + node.tag.rsplit(":", 1)[-1])


for _tag in _REFUSED_TAGS:
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


def _keys_with_merged(node: MappingNode) -> list[Node]:
    """The mapping's own key nodes and those a merge key (``<<``) brings in: an explicit key that
    overrides a merged one is a repeated key too (a reader sees two values, the code keeps one)."""
    keys: list[Node] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            keys.append(key_node)
            continue
        merged = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        keys += [k for m in merged if isinstance(m, MappingNode) for k in _keys_with_merged(m)]
    return keys


def _short(key: object) -> str:
    text = str(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _children(node: Node, scalars: bool) -> list[Node]:
    if type(node) is MappingNode:
        return [part for pair in node.value for part in pair if scalars or type(part) is not ScalarNode]
    if type(node) is SequenceNode:
        return [item for item in node.value if scalars or type(item) is not ScalarNode]
    return []


def _check_graph(root: Node, source: str, max_depth: int, aliases: str) -> None:
    """Walk the composed nodes level by level, as if every alias were copied out: refuse nesting
    over ``max_depth``; with ``aliases`` "refuse", a node reached twice; with "count", more than
    MAX_EXPANDED_NODES nodes in all; with "none" (no ``&`` in the text) only depth is checked."""
    level, depth, seen, visits = [root], 1, set(), 1
    while level:
        if depth > max_depth:
            raise YamlError(source, errors.YAML_TOO_DEEP, row=_row(level[0]), limit=max_depth)
        following: list[Node] = []
        for node in level:
            if aliases == "refuse":
                if id(node) in seen:
                    raise YamlError(
                        source,
                        errors.YAML_ALIAS,
                        row=_row(node),
                        detail="uses an anchor and alias (&name, *name)",
                        fix="write the values out",
                    )
                seen.add(id(node))
            children = _children(node, scalars=aliases != "none")
            visits += len(children)
            if visits > MAX_EXPANDED_NODES:
                raise YamlError(
                    source, errors.YAML_ALIAS, detail=f"aliases expand to more than {MAX_EXPANDED_NODES} values"
                )
            following += children
        level, depth = following, depth + 1


def _row(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _too_large(size: int, source: str, max_bytes: int) -> YamlError:
    detail = f"{size} bytes, more than the {max_bytes} a YAML file of the protocol may have"
    return YamlError(source, errors.YAML_TOO_LARGE, detail=detail)


def _size(data: bytes | str) -> int:
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))


def load(
    data: bytes | str,
    source: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    allow_aliases: bool = False,
) -> Any:
    """The document in ``data`` as plain Python (None when empty); :class:`YamlError` when it is
    not valid YAML or breaks a limit. ``source`` names the file in the error."""
    if _size(data) > max_bytes:
        raise _too_large(_size(data), source, max_bytes)
    loader = _Loader(data)
    loader.source = source
    loader.merge_overrides = allow_aliases
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        anchors = ("&" in data) if isinstance(data, str) else (b"&" in data)
        _check_graph(node, source, max_depth, "count" if allow_aliases else "refuse" if anchors else "none")
        return loader.construct_document(node)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        row = None if mark is None else mark.line + 1
        raise YamlError(source, errors.YAML_SYNTAX, row=row, why=f": {type(exc).__name__}") from None
    except RecursionError:  # the pure-Python composer, without libyaml's own nesting bound
        raise YamlError(source, errors.YAML_TOO_DEEP, limit=max_depth) from None
    finally:
        loader.dispose()


def relative(path: Path, root: Path | None) -> str:
    """``path`` as shown in messages: relative to ``root`` when under it."""
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return str(path)


def load_file(
    path: Path,
    *,
    root: Path | None = None,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    allow_aliases: bool = False,
) -> Any:
    """:func:`load` of a file, its size checked before it is read."""
    source = relative(path, root)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise YamlError(source, errors.MISSING_FILE) from None
    if size > max_bytes:
        raise _too_large(size, source, max_bytes)
    return load(path.read_bytes(), source, max_bytes=max_bytes, max_depth=max_depth, allow_aliases=allow_aliases)


# --- writing ---------------------------------------------------------------------------------


def round_trip(width: int | None = None, indent: Indent | None = None) -> YAML:
    """ruamel's round-trip handler: comments, key order and quotes kept as written."""
    handler = YAML()
    handler.preserve_quotes = True
    handler.representer.ignore_aliases = lambda data: True  # never written: the reader refuses them
    handler.width = width
    if indent is not None:
        handler.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return handler


def dump(doc: object, *, width: int | None = None, indent: Indent | None = None) -> str:
    """``doc`` (a ruamel document or plain data) as YAML text, in round-trip style."""
    buffer = StringIO()
    round_trip(width, indent).dump(doc, buffer)
    return buffer.getvalue()


@contextmanager
def edit(path: Path, *, width: int | None = None, indent: Indent | None = None) -> Iterator[Document]:
    """Yield the round-trip mapping of ``path``; write it back atomically when the block ends
    without an exception (an exception leaves the file untouched). Every file the project edits
    holds a mapping; any other document is refused."""
    doc = round_trip(width, indent).load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, Document):
        raise YamlError(str(path), errors.SCHEMA, detail="(top level): the document is not a mapping")
    yield doc
    write_text_atomic(path, dump(doc, width=width, indent=indent))


def quoted(text: str) -> str:
    """``text`` written in double quotes by :func:`dump` (a month like "2015-01" stays a string)."""
    marked: str = DoubleQuotedScalarString(text)
    return marked


def dump_data(data: object, *, width: int | None = None) -> str:
    """Plain data as block YAML in key order: for generated files that carry no comments."""
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, width=width)


# --- schema problems -------------------------------------------------------------------------


def schema_problems(error: ValidationError, source: str, *, fix: str | None = None) -> list[Problem]:
    """One :class:`Problem` per pydantic error, the dotted field path as its column."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == UNSAFE_TEXT_TYPE:
            problems.append(Problem.of(errors.UNSAFE_TEXT, source, column=where, detail=message))
        else:
            problems.append(Problem.of(errors.SCHEMA, source, column=where, fix=fix, detail=message))
    return problems


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], data: bytes | str, source: str, *, what: str = "", fix: str | None = None) -> M:
    """``data`` (YAML text) validated as ``model``: the one road from a YAML record to a model.

    A YAML error or any schema error raises :class:`ValidationFailed` with every problem, each
    naming ``source`` and the field; ``what`` ("a breach record") makes the summary line."""
    summary = f"{source}: not {what}" if what else ""
    try:
        return model.model_validate(load(data, source) or {})
    except YamlError as exc:
        raise ValidationFailed([exc.problem], summary) from None
    except ValidationError as exc:
        raise ValidationFailed(schema_problems(exc, source, fix=fix), summary) from None


# --- text a record may hold ---------------------------------------------------------------------

# Fields that are meant to span lines (a purpose, minutes' decisions, a breach description); every
# other text field is one line, since names, titles and subjects end up in e-mail headers, table
# cells and terminal lines where a newline is a way to forge the next header or row.
MULTILINE_FIELDS = frozenset(
    {"purpose", "use", "feedback", "guarantee", "description", "reason", "notes", "note", "decisions", "summary"}
)
# C0 controls but tab and newline, DEL, C1 controls (ANSI CSI included), and the bidi embedding,
# override and isolate characters (a reviewer would read one text and git hold another).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def unsafe_text(value: str, *, multiline: bool) -> str | None:
    """What is wrong with ``value`` as record text, or None."""
    found = _UNSAFE.search(value)
    if found:
        return f"holds the control character U+{ord(found.group()):04X}"
    if not multiline and ("\n" in value or "\t" in value):
        return "must be one line (no newline or tab)"
    return None


def _check_text(value: Any, multiline: bool) -> None:
    if isinstance(value, str):
        reason = unsafe_text(value, multiline=multiline)
        if reason:
            raise PydanticCustomError(UNSAFE_TEXT_TYPE, "{reason}", {"reason": reason})
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_text(item, multiline)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, False)
            _check_text(item, multiline)


class RecordModel(BaseModel):
    """Base of every model read from a member-written record: text fields refuse control and
    bidi characters (rule ``unsafe-text``), and newlines outside :data:`MULTILINE_FIELDS`."""

    @field_validator("*", mode="after")
    @classmethod
    def _safe_text(cls, value: Any, info: ValidationInfo) -> Any:
        _check_text(value, info.field_name in MULTILINE_FIELDS)
        return value
