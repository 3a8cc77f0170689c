"""Read one YAML config file: data, a key-path -> line index, and `${VAR}` substitution.

The line index comes from `yaml.compose` node marks so every later error (schema, cross
reference, unset variable) can name the line of the offending key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.issues import ConfigIssue, KeyPath

# ${VAR} or ${VAR:-default}; `$${` is a literal `${`.
_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_VAR_NAME_SYNTAX = re.compile(r"\$\{([^}]*)\}")


@dataclass
class YamlSource:
    """A parsed config file. `lines[path]` is the 1-based line of that key (or list item)."""

    label: str
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    issues: list[ConfigIssue] = field(default_factory=list)
    substituted_empty: set[KeyPath] = field(default_factory=set)
    """Paths whose whole value was a `${VAR:-}` that came out empty (may mean 'unset')."""

    def line_of(self, path: KeyPath) -> int:
        """Line of `path`, else of its nearest ancestor present in the file (1 for the top)."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def issue(self, path: KeyPath, message: str, line: int | None = None) -> ConfigIssue:
        return ConfigIssue(self.label, line or self.line_of(path), tuple(path), message)


def read_yaml(path: Path, label: str) -> YamlSource:
    """Parse `path`; syntax errors become issues with the YAML error's line and column."""
    src = YamlSource(label=label)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        src.issues.append(ConfigIssue(label, None, (), f"cannot read file: {e.strerror or e}"))
        return src
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            src.data = {}
            return src
        _index(node, (), src)
        src.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = f" at column {mark.column + 1}" if mark else ""
        hint = "; ".join(x for x in (e.context, "check indentation, ':' and quotes") if x)
        message = f"YAML syntax error{col}: {e.problem or 'invalid YAML'} ({hint})"
        src.issues.append(ConfigIssue(label, line, (), message))
    except yaml.YAMLError as e:
        src.issues.append(ConfigIssue(label, None, (), f"YAML error: {e}"))
    finally:
        loader.dispose()
    return src


def _index(node: yaml.Node, path: KeyPath, src: YamlSource) -> None:
    src.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                src.issues.append(
                    ConfigIssue(
                        src.label,
                        line,
                        (*path, key),
                        f"duplicate key '{key}' (first at line {seen[key]}; "
                        "the later one would silently win - keep one)",
                    )
                )
                continue
            seen[key] = line
            src.lines[(*path, key)] = line
            _index(value_node, (*path, key), src)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            src.lines[(*path, i)] = item.start_mark.line + 1
            _index(item, (*path, i), src)


def substitute_env(src: YamlSource, env: Mapping[str, str]) -> None:
    """Replace `${VAR}` / `${VAR:-default}` in every string value, in place.

    An unset `${VAR}` without a default is an issue naming the file, line, key and variable.
    """
    src.data = _walk(src.data, (), src, env)


def _walk(value: Any, path: KeyPath, src: YamlSource, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), src, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), src, env) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return _substitute(value, path, src, env)
    return value


def _substitute(text: str, path: KeyPath, src: YamlSource, env: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):  # `$${...}` -> literal `${...}`
            return m.group(0)[1:]
        name, default = m.group(2), m.group(3)
        current = env.get(name)
        if default is not None:
            return current if current else default
        if current is None:
            src.issues.append(
                src.issue(
                    path,
                    f"environment variable {name} is not set (set it, or write "
                    f"${{{name}:-}} to allow it to be empty, or ${{{name}:-default}})",
                )
            )
            return ""
        return current

    result = _VAR.sub(repl, text)
    for bad in _VAR_NAME_SYNTAX.finditer(_VAR.sub("", text)):
        src.issues.append(
            src.issue(
                path,
                f"bad variable reference '${{{bad.group(1)}}}' "
                "(use ${NAME} or ${NAME:-default}; NAME is letters, digits and '_')",
            )
        )
    if result == "" and _VAR.fullmatch(text.strip()):
        src.substituted_empty.add(path)
    return result
