"""Configuration problems, as people read them: `file:line key.path: what is wrong`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """`("chains", "k8s", "stages", 1, "agent")` -> `chains.k8s.stages[1].agent`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem: where it is (`source` is a file path as given, or `environment VAR`)."""

    source: str
    line: int | None
    path: KeyPath
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        key = format_path(self.path)
        return f"{where} {key}: {self.message}" if key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration is invalid; `issues` holds every problem found, not just the first."""

    def __init__(self, issues: Sequence[ConfigIssue | str]):
        self.issues: list[ConfigIssue | str] = list(issues)
        super().__init__(self.render())

    @property
    def messages(self) -> list[str]:
        return [str(i) for i in self.issues]

    def render(self) -> str:
        n = len(self.issues)
        head = f"invalid configuration ({n} problem{'s' if n != 1 else ''}):"
        return "\n".join([head, *(f"  {m}" for m in self.messages)])
