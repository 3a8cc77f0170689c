"""The shipped configuration works out of the box; `tarsy config check` output is safe to share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from config.issues import ConfigError
from config.loader import SHIPPED_DIR, load_config, validate_for_serve
from tests.config.conftest import AGENTS

REPO = Path(__file__).resolve().parents[2]
SHIPPED = str(REPO / "config")


def test_shipped_config_check_passes_and_shows_the_three_stage_chain(capsys, clean_env):
    assert main(["config", "check", "--config-dir", SHIPPED, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    chain = data["agents"]["chains"]["kubernetes"]
    assert [s["name"] for s in chain["stages"]] == ["triage", "diagnose", "recommend"]
    assert chain["chat"]["enabled"] is True
    assert data["agents"]["routing"]["default_chain"] == "kubernetes"
    assert data["agents"]["llm_providers"]["gemini"]["model"] == "gemini-2.5-flash"
    args = data["agents"]["mcp_servers"]["kubernetes"]["transport"]["args"]
    assert "--read-only" in args and any(a.startswith("kubernetes-mcp-server") for a in args)
    assert data["tarsy"]["slack"]["mode"] == "socket"
    assert data["tarsy"]["database"]["url"].startswith("sqlite+aiosqlite://")
    assert "configuration OK" in err


def test_shipped_runbooks_resolve_against_the_config_dir(clean_env, tmp_path):
    clean_env.chdir(tmp_path)  # the cwd must not matter
    cfg = load_config(SHIPPED, env={})
    (runbooks,) = cfg.agents.runbooks.directories
    assert Path(runbooks) == REPO / "config" / "runbooks"
    names = {p.name for p in Path(runbooks).glob("*.md")}
    assert {"generic.md", "KubePodCrashLooping.md", "KubePodOOMKilled.md"} <= names
    for ref in cfg.agents.runbooks.by_alert_type.values():
        assert (Path(runbooks) / ref).is_file(), ref


def test_unset_optional_secrets_become_unset_not_empty(clean_env):
    cfg = load_config(SHIPPED, env={})
    assert cfg.settings.slack.bot_token is None
    assert cfg.agents.llm_providers["gemini"].api_key is None
    assert cfg.settings.slack.default_channel is None


def test_env_overrides_apply_after_the_files(clean_env):
    env = {
        "SLACK_BOT_TOKEN": "xoxb-from-env",
        "SLACK_APP_TOKEN": "xapp-from-env",
        "SLACK_SIGNING_SECRET": "sig",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "DATABASE_URL": "sqlite+aiosqlite:///tmp/x.db",
        "TARSY_SLACK_MODE": "http",
        "TARSY_HTTP_PORT": "9999",
    }
    s = load_config(SHIPPED, env=env).settings
    assert s.slack.bot_token.get_secret_value() == "xoxb-from-env"
    assert s.slack.app_token.get_secret_value() == "xapp-from-env"
    assert s.slack.signing_secret.get_secret_value() == "sig"
    assert s.slack.api_url == "http://127.0.0.1:9/api/"
    assert s.database.url == "sqlite+aiosqlite:///tmp/x.db"
    assert (s.slack.mode, s.http.port) == ("http", 9999)


def test_validate_for_serve_names_missing_credentials(clean_env):
    cfg = load_config(SHIPPED, env={})
    assert validate_for_serve(cfg, env={}) == [
        "slack.bot_token: Slack socket mode needs a bot token (xoxb-...): "
        "set SLACK_BOT_TOKEN or slack.bot_token in tarsy.yaml",
        "slack.app_token: Slack socket mode needs an app-level token (xapp-...): "
        "set SLACK_APP_TOKEN or slack.app_token in tarsy.yaml",
        "llm_providers.gemini.api_key: no Gemini API key: set GOOGLE_API_KEY "
        "(or llm_providers.gemini.api_key in agents.yaml)",
    ]
    http = load_config(SHIPPED, env={"TARSY_SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert validate_for_serve(http, env={"GOOGLE_API_KEY": "k"}) == [
        "slack.signing_secret: Slack http mode needs the app's signing secret: "
        "set SLACK_SIGNING_SECRET or slack.signing_secret in tarsy.yaml"
    ]
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "GOOGLE_API_KEY": "k"}
    assert validate_for_serve(load_config(SHIPPED, env=env), env=env) == []


def test_secrets_never_appear_in_config_check_output(cfg_dir, capsys, clean_env):
    secrets = {
        "SLACK_BOT_TOKEN": "xoxb-1111-SECRETBOT",
        "SLACK_APP_TOKEN": "xapp-1-SECRETAPP",
        "SLACK_SIGNING_SECRET": "SECRETSIGNING",
        "DATABASE_URL": "postgresql+asyncpg://tarsy:SECRETDBPW@db:5432/tarsy",
        "TARSY_TEST_KEY": "AIzaSECRETGEMINI",
    }
    for k, v in secrets.items():
        clean_env.setenv(k, v)
    agents = AGENTS.replace(
        "model: gemini-2.5-flash}", "model: m, api_key: '${TARSY_TEST_KEY}'}"
    ).replace(
        "transport: {type: stdio, command: npx}",
        "transport:\n      type: stdio\n      command: npx\n"
        "      env: {GITHUB_TOKEN: '${TARSY_TEST_KEY}', KUBECONFIG: /kube/config}",
    )
    cfg_dir(agents=agents)
    for fmt in ("yaml", "json"):
        assert main(["config", "check", "--config-dir", "config", "--format", fmt]) == 0
        out, err = capsys.readouterr()
        for value in ("SECRETBOT", "SECRETAPP", "SECRETSIGNING", "SECRETDBPW", "SECRETGEMINI"):
            assert value not in out and value not in err, (fmt, value)
        data = yaml.safe_load(out)  # JSON is YAML too
        slack = data["tarsy"]["slack"]
        assert (slack["bot_token"], slack["app_token"]) == ("***", "***")
        assert data["tarsy"]["database"]["url"] == "postgresql+asyncpg://tarsy:***@db:5432/tarsy"
        server = data["agents"]["mcp_servers"]["kubernetes"]
        assert server["transport"]["env"] == {"GITHUB_TOKEN": "***", "KUBECONFIG": "/kube/config"}
        assert data["agents"]["llm_providers"]["gemini"]["api_key"] == "***"
        assert data["agents"]["runbooks"]["github_token"] == "<unset>"


def test_directory_without_agents_yaml_falls_back_to_shipped(tmp_path, clean_env):
    (tmp_path / "tarsy.yaml").write_text("http:\n  port: 9191\n")
    cfg = load_config(tmp_path, env={})
    assert cfg.settings.http.port == 9191
    assert list(cfg.agents.chains) == ["kubernetes"]
    assert cfg.agents.runbooks.directories == [str(SHIPPED_DIR / "runbooks")]


def test_missing_explicit_config_dir_is_an_error(tmp_path, clean_env):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope", env={})
    assert info.value.messages == [
        f"{tmp_path / 'nope'}: config directory not found (check --config-dir; it must contain "
        "agents.yaml and optionally tarsy.yaml)"
    ]


def test_missing_runbook_directory_is_a_warning(cfg_dir, capsys):
    root = cfg_dir(agents=AGENTS.replace("[runbooks]", "[playbooks]"))
    assert main(["config", "check", "--config-dir", "config"]) == 0
    err = capsys.readouterr().err
    assert (
        f"warning: runbooks.directories: directory {root.resolve() / 'playbooks'} does not exist "
        "(create it or fix the path)" in err.splitlines()
    )


def test_installed_tarsy_command_checks_the_shipped_config(tmp_path):
    exe = Path(sys.executable).with_name("tarsy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TARSY_"))}
    env["SLACK_BOT_TOKEN"] = "xoxb-SUBPROCESS-SECRET"
    done = subprocess.run(
        [str(exe), "config", "check", "--config-dir", SHIPPED],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "SUBPROCESS-SECRET" not in done.stdout + done.stderr
    data = yaml.safe_load(done.stdout)
    assert data["tarsy"]["slack"]["bot_token"] == "***"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "agents.yaml").write_text("llm_providers: {}\n")
    done = subprocess.run(
        [str(exe), "config", "check", "--config-dir", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert f"{broken}/agents.yaml:1 llm_providers: needs at least 1 entry" in done.stderr


def test_default_runbook_directory_is_runbooks_next_to_agents_yaml(cfg_dir):
    root = cfg_dir(agents=AGENTS.replace("runbooks: {directories: [runbooks]}\n", ""))
    cfg = load_config("config", env={})
    assert cfg.agents.runbooks.directories == [str((root / "runbooks").resolve())]
