"""Load `tarsy.yaml` + `agents.yaml` into a validated `TarsyConfig`.

Order: parse YAML (with line index) -> `${VAR}` substitution -> environment overrides ->
schema validation -> extra checks (regexes) -> resolve relative paths against the config dir.
Every problem is collected and raised together as one `ConfigError`.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.issues import ConfigError, ConfigIssue, KeyPath
from config.models import AgentsConfig, MaskingSettings, TarsyConfig, TarsySettings
from config.references import reference_errors
from config.validation import Overrides, validate
from config.yaml_source import YamlSource, read_yaml, substitute_env

log = logging.getLogger("tarsy.config")

SHIPPED_DIR = Path(__file__).resolve().parent
"""The defaults shipped inside the package (`config/tarsy.yaml`, `config/agents.yaml`)."""
DEFAULT_CONFIG_DIR = "config"
TARSY_FILE = "tarsy.yaml"
AGENTS_FILE = "agents.yaml"

# Environment variables applied after the files (when set and non-empty) -> key in tarsy.yaml.
ENV_OVERRIDES: dict[str, KeyPath] = {
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "SLACK_API_URL": ("slack", "api_url"),
    "DATABASE_URL": ("database", "url"),
    "TARSY_SLACK_MODE": ("slack", "mode"),
    "TARSY_HTTP_PORT": ("http", "port"),
}


@dataclass
class ConfigSources:
    """Which files a config directory resolves to (after the shipped-defaults fallback)."""

    config_dir: Path
    tarsy_yaml: Path | None
    agents_yaml: Path
    notes: list[str] = field(default_factory=list)


def find_sources(config_dir: str | Path = DEFAULT_CONFIG_DIR) -> ConfigSources:
    """Resolve the files to read. A directory without `agents.yaml` uses the shipped one.

    A missing directory is an error, except the default `config` (so `tarsy serve` works from
    anywhere out of the box, on the shipped defaults).
    """
    given = Path(config_dir)
    if not given.is_dir():
        if str(config_dir) != DEFAULT_CONFIG_DIR:
            raise ConfigError(
                [
                    ConfigIssue(
                        str(config_dir),
                        None,
                        (),
                        "config directory not found (check --config-dir; it must contain "
                        f"{AGENTS_FILE} and optionally {TARSY_FILE})",
                    )
                ]
            )
        note = f"no '{config_dir}/' directory here: using the shipped defaults in {SHIPPED_DIR}"
        return ConfigSources(
            SHIPPED_DIR, SHIPPED_DIR / TARSY_FILE, SHIPPED_DIR / AGENTS_FILE, [note]
        )
    notes: list[str] = []
    tarsy_yaml: Path | None = given / TARSY_FILE
    if not tarsy_yaml.is_file():
        tarsy_yaml = None
        notes.append(f"no {given / TARSY_FILE}: using built-in service defaults")
    agents_yaml = given / AGENTS_FILE
    if not agents_yaml.is_file():
        agents_yaml = SHIPPED_DIR / AGENTS_FILE
        notes.append(f"no {given / AGENTS_FILE}: using the shipped {agents_yaml}")
    return ConfigSources(given, tarsy_yaml, agents_yaml, notes)


def load_config(
    config_dir: str | Path = DEFAULT_CONFIG_DIR, env: Mapping[str, str] | None = None
) -> TarsyConfig:
    """Read, substitute, override, validate. Raises `ConfigError` listing every problem."""
    env = os.environ if env is None else env
    sources = find_sources(config_dir)
    for note in sources.notes:
        log.info("%s", note)

    issues: list[ConfigIssue] = []
    if sources.tarsy_yaml is not None:
        tsrc = read_yaml(sources.tarsy_yaml, _label(sources.tarsy_yaml))
    else:
        tsrc = YamlSource(label=str(Path(config_dir) / TARSY_FILE), data={})
    asrc = read_yaml(sources.agents_yaml, _label(sources.agents_yaml))

    results: dict[type, Any] = {}
    for src, model in ((tsrc, TarsySettings), (asrc, AgentsConfig)):
        found, results[model] = _check_file(src, model, env)
        issues.extend(sorted(found, key=lambda i: i.line or 0))
    settings, agents = results[TarsySettings], results[AgentsConfig]

    if issues or settings is None or agents is None:
        raise ConfigError(issues)
    _resolve_paths(agents, sources.agents_yaml.parent)
    cfg = TarsyConfig(
        settings=settings, agents=agents, config_dir=str(sources.config_dir.resolve())
    )
    for warning in config_warnings(cfg):
        log.warning("%s", warning)
    return cfg


def _check_file(
    src: YamlSource, model: type, env: Mapping[str, str]
) -> tuple[list[ConfigIssue], Any]:
    """Every issue in one file, and the validated model (None when there were issues)."""
    if src.data is None:  # unreadable / YAML syntax error: already an issue
        return list(src.issues), None
    if not isinstance(src.data, dict):
        return [
            *src.issues,
            src.issue((), "expected a mapping (key: value pairs) at the top level"),
        ], None
    substitute_env(src, env)
    overrides = _apply_env_overrides(src, env) if model is TarsySettings else {}
    result, errors = validate(model, src, overrides)
    issues = [*src.issues, *errors]
    if result is None and model is AgentsConfig:
        issues.extend(_late_reference_issues(src, errors))
    if result is not None:
        issues.extend(_extra_issues(result, src))
    return issues, (None if issues else result)


def _late_reference_issues(src: YamlSource, schema_issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Reference errors the failed schema validation could not reach (skipping paths that
    already have a schema error, e.g. a missing `routing.default_chain`)."""
    bad = [i.path for i in schema_issues]
    return [
        src.issue(path, message)
        for path, message in reference_errors(src.data)
        if not any(path[: len(b)] == b for b in bad)
    ]


def _label(path: Path) -> str:
    """Show a file path as given (relative when under the current directory)."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _apply_env_overrides(src: YamlSource, env: Mapping[str, str]) -> Overrides:
    applied: Overrides = {}
    for var, path in ENV_OVERRIDES.items():
        value = env.get(var)
        if not value:
            continue
        node: Any = src.data
        for part in path[:-1]:
            if not isinstance(node, dict):
                break
            node = node.setdefault(part, {})
        if isinstance(node, dict):
            node[path[-1]] = value
            applied[path] = var
            src.substituted_empty.discard(path)
    return applied


# ----------------------------------------------------------------------- extra checks


KNOWN_MASKING_GROUPS: list[str] = MaskingSettings().groups
"""The built-in masking groups (the schema default enables all of them)."""


def _extra_issues(model: TarsySettings | AgentsConfig, src: YamlSource) -> list[ConfigIssue]:
    """Checks the schema cannot express: `~regex` matchers and alert patterns must compile
    (else routing fails at run time); masking groups must exist."""
    issues: list[ConfigIssue] = []
    if isinstance(model, AgentsConfig):
        for name, server in model.mcp_servers.items():
            for i, group in enumerate(server.masking.groups):
                if group not in KNOWN_MASKING_GROUPS:
                    path = ("mcp_servers", name, "masking", "groups", i)
                    msg = f"unknown masking group '{group}' (allowed: "
                    msg += ", ".join(KNOWN_MASKING_GROUPS) + ")"
                    close = difflib.get_close_matches(group, KNOWN_MASKING_GROUPS, n=1)
                    issues.append(
                        src.issue(path, msg + (f"; did you mean '{close[0]}'?" if close else ""))
                    )
    checks: list[tuple[KeyPath, str]] = []
    if isinstance(model, TarsySettings):
        checks += [
            (("slack", "alert_patterns", i), p) for i, p in enumerate(model.slack.alert_patterns)
        ]
        for i, rule in enumerate(model.webhooks.channel_rules):
            checks += _matchers(("webhooks", "channel_rules", i, "match"), rule.match)
    else:
        for i, rule in enumerate(model.routing.rules):
            checks += _matchers(("routing", "rules", i, "match"), rule.match)
            checks += _alert_types(("routing", "rules", i, "alert_types"), rule.alert_types)
        for name, chain in model.chains.items():
            checks += _alert_types(("chains", name, "alert_types"), chain.alert_types)
    for path, pattern in checks:
        try:
            re.compile(pattern)
        except re.error as e:
            issues.append(src.issue(path, f"invalid regex '{pattern}': {e}"))
    return issues


def _matchers(base: KeyPath, match: dict[str, str]) -> list[tuple[KeyPath, str]]:
    return [((*base, k), v[1:]) for k, v in match.items() if v.startswith("~")]


def _alert_types(base: KeyPath, values: list[str]) -> list[tuple[KeyPath, str]]:
    return [((*base, i), v[1:]) for i, v in enumerate(values) if v.startswith("~")]


def _resolve_paths(agents: AgentsConfig, base: Path) -> None:
    """Relative runbook directories are relative to the directory of `agents.yaml`."""
    agents.runbooks.directories = [
        str(p if p.is_absolute() else (base / p).resolve())
        for p in (Path(d).expanduser() for d in agents.runbooks.directories)
    ]


# ----------------------------------------------------------------------- warnings / serve


def _is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def config_warnings(cfg: TarsyConfig) -> list[str]:
    """Problems that do not stop TARSy but will hurt an investigation (missing runbooks...)."""
    out: list[str] = []
    rb = cfg.agents.runbooks
    dirs = [Path(d) for d in rb.directories]
    for d in dirs:
        if not d.is_dir():
            out.append(
                f"runbooks.directories: directory {d} does not exist (create it or fix the path)"
            )

    def missing(ref: str) -> bool:
        return not _is_url(ref) and not any((d / ref).is_file() for d in dirs)

    if rb.default and missing(rb.default):
        out.append(f"runbooks.default: '{rb.default}' not found in {', '.join(map(str, dirs))}")
    for kind, ref in rb.by_alert_type.items():
        if missing(ref):
            out.append(
                f"runbooks.by_alert_type.{kind}: '{ref}' not found in the runbook directories"
            )
    for name, chain in cfg.agents.chains.items():
        if chain.runbook and missing(chain.runbook):
            out.append(
                f"chains.{name}.runbook: '{chain.runbook}' not found in the runbook directories"
            )
    for name, server in cfg.agents.mcp_servers.items():
        t = server.transport
        if server.enabled and t.type == "stdio" and t.command and not shutil.which(t.command):
            out.append(
                f"mcp_servers.{name}.transport.command: '{t.command}' is not on PATH "
                "(install it, or set enabled: false)"
            )
    return out


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def validate_for_serve(cfg: TarsyConfig, env: Mapping[str, str] | None = None) -> list[str]:
    """What `tarsy serve` additionally needs: Slack credentials for the mode, LLM API keys."""
    env = os.environ if env is None else env
    slack = cfg.settings.slack
    out: list[str] = []
    bot = ("bot_token", "SLACK_BOT_TOKEN", "a bot token (xoxb-...)")
    need = {
        "socket": [bot, ("app_token", "SLACK_APP_TOKEN", "an app-level token (xapp-...)")],
        "http": [bot, ("signing_secret", "SLACK_SIGNING_SECRET", "the app's signing secret")],
    }[slack.mode]
    for key, var, what in need:
        if not _secret(getattr(slack, key)):
            out.append(
                f"slack.{key}: Slack {slack.mode} mode needs {what}: "
                f"set {var} or slack.{key} in tarsy.yaml"
            )
    used = {cfg.agents.default_llm_provider}
    used |= {a.llm_provider for a in cfg.agents.agents.values() if a.llm_provider}
    for name in sorted(used):
        prov = cfg.agents.llm_providers[name]
        if prov.type != "gemini" or _secret(prov.api_key):
            continue
        if not (env.get("GOOGLE_API_KEY") or env.get("GEMINI_API_KEY")):
            out.append(
                f"llm_providers.{name}.api_key: no Gemini API key: set GOOGLE_API_KEY "
                f"(or llm_providers.{name}.api_key in agents.yaml)"
            )
    return out
