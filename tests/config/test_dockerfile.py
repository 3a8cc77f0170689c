"""Docker cannot run here: check the Dockerfile's promises by parsing it."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, op: str) -> list[str]:
        return [args for o, args in self.instructions if o == op]


def parse_dockerfile(text: str) -> list[Stage]:
    text = re.sub(r"\\\n", " ", text)  # line continuations
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        else:
            stages[-1].instructions.append((op, args.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((REPO / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def ignored() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.startswith("#")]


def copy_sources(args: str) -> tuple[list[str], bool]:
    """Sources of a COPY and whether it copies from another stage."""
    parts = [p for p in shlex.split(args) if not p.startswith("--") or p.startswith("--from")]
    from_stage = any(p.startswith("--from") for p in parts)
    files = [p for p in parts if not p.startswith("--")]
    return files[:-1], from_stage


def test_multi_stage_python_311_slim(stages):
    assert len(stages) >= 2
    assert all(s.base == "python:3.11-slim" for s in stages)
    builder, final = stages[0], stages[-1]
    assert any("pip wheel" in r for r in builder.all("RUN"))
    assert any("pip install" in r and "--no-index" in r for r in final.all("RUN"))


def test_final_stage_runs_as_non_root_tarsy(stages):
    users = stages[-1].all("USER")
    assert users, "the final stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user == "tarsy"
    assert any("useradd" in r and "tarsy" in r for r in stages[-1].all("RUN"))


def test_entrypoint_cmd_port_healthcheck_workdir(stages):
    final = stages[-1]
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["tarsy"]
    assert json.loads(final.all("CMD")[-1]) == ["serve", "--config-dir", "/app/config"]
    assert final.all("WORKDIR")[-1] == "/app"
    assert "8080" in final.all("EXPOSE")[-1].split()
    health = final.all("HEALTHCHECK")[-1]
    assert "/health" in health and "CMD" in health


def test_node_for_npx_mcp_servers_and_data_volume(stages):
    final = stages[-1]
    installs = " ".join(final.all("RUN"))
    assert re.search(r"apt-get install[^&]*\bnodejs\b[^&]*\bnpm\b", installs)
    envs = " ".join(final.all("ENV"))
    assert "DATABASE_URL=sqlite+aiosqlite:////data/" in envs
    assert any("/data" in v for v in final.all("VOLUME"))
    assert "chown tarsy:tarsy /data" in installs


def test_final_stage_copies_no_source_tree(stages):
    for args in stages[-1].all("COPY") + stages[-1].all("ADD"):
        sources, from_stage = copy_sources(args)
        if from_stage:
            assert sources == ["/wheels"], args
            continue
        for src in sources:
            assert src.startswith("config/"), f"final stage copies {src} from the build context"
            assert src.endswith((".yaml", "runbooks/")), src


def test_context_sources_exist_and_are_not_ignored(stages, ignored):
    for stage in stages:
        for args in stage.all("COPY"):
            sources, from_stage = copy_sources(args)
            if from_stage:
                continue
            for src in sources:
                path = src.rstrip("/")
                hidden = [p for p in ignored if fnmatch.fnmatch(path, p)]
                assert not hidden, f"{src} is excluded by .dockerignore {hidden}"
                if path != "README.md":  # written by the docs owner; the build needs it
                    assert (REPO / path).exists(), f"COPY {src}: no such file in the repo"


def test_dockerignore_keeps_secrets_and_local_state_out(ignored):
    for pattern in (".git", ".venv", ".env", "*.db", "tests", "**/__pycache__"):
        assert pattern in ignored, pattern
