"""Pydantic schema for `config/tarsy.yaml` (service) and `config/agents.yaml` (investigations).

Every model forbids unknown keys so a typo is reported with its location instead of being
silently ignored. Cross-references (agent names, providers, MCP servers, chains) are checked
in `AgentsConfig` validators so the error names the key path that is wrong.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- tarsy.yaml


class SlackSettings(Strict):
    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str | None = None
    """Base URL of the Slack Web API (`SLACK_API_URL`); None means Slack's own."""
    alert_channels: list[str] = Field(default_factory=list)
    """Channel ids (or names) whose alerting-app messages are triaged automatically."""
    alert_bots: list[str] = Field(
        default_factory=lambda: ["alertmanager", "grafana", "datadog", "pagerduty", "opsgenie"]
    )
    """Bot usernames / bot ids / app names (case-insensitive substrings) that count as alerts."""
    alert_patterns: list[str] = Field(default_factory=list)
    """Extra regexes: a message in an alert channel matching one counts as an alert."""
    default_channel: str | None = None
    """Where webhook alerts go when no channel rule matches."""
    ops_channel: str | None = None
    """Optional channel for system warnings (posted once each)."""
    reactions: dict[str, str] = Field(
        default_factory=lambda: {"investigating": "eyes", "done": "white_check_mark", "failed": "x"}
    )
    react_on_alerts: bool = True
    followups: Literal["mention", "any_reply"] = "mention"
    allowed_channels: list[str] = Field(default_factory=list)
    """Channels where `/tarsy` may be used; empty means all."""
    allowed_users: list[str] = Field(default_factory=list)
    """User ids or user-group ids allowed to run `/tarsy`; empty means everyone."""
    edit_interval_s: float = Field(1.5, ge=0.0)
    """Minimum seconds between edits of one Slack message."""


class ChannelRule(Strict):
    channel: str
    match: dict[str, str] = Field(default_factory=dict)
    """Label/field matchers (exact, or `~regex`) - `severity`, `team`, any label."""


class WebhookAuth(Strict):
    type: Literal["none", "bearer", "hmac", "pagerduty"] = "none"
    token: SecretStr | None = None
    """Bearer token, HMAC secret, or PagerDuty v3 signing secret."""
    header: str = "X-Signature"
    """Header carrying the HMAC signature (hex, optionally prefixed `sha256=`)."""

    @model_validator(mode="after")
    def _token_needed(self) -> WebhookAuth:
        if self.type != "none" and not (self.token and self.token.get_secret_value()):
            raise ValueError(f"auth type '{self.type}' needs a token (set it from an env var)")
        return self


class WebhookSettings(Strict):
    enabled: bool = True
    max_body_bytes: int = Field(1_048_576, gt=0)
    auth: dict[Literal["alertmanager", "grafana", "pagerduty", "generic"], WebhookAuth] = Field(
        default_factory=dict
    )
    channel_rules: list[ChannelRule] = Field(default_factory=list)


class DatabaseSettings(Strict):
    url: str = "sqlite+aiosqlite:///./tarsy.db"
    echo: bool = False
    migrate_on_start: bool = True


class QueueSettings(Strict):
    concurrency: int = Field(5, ge=1, le=200)
    """Global limit on running sessions across all replicas."""
    worker_slots: int | None = Field(None, ge=1, le=200)
    """Sessions one replica runs at once (default: `concurrency`). Lower it to share the
    global limit between replicas instead of letting the quickest one take every slot."""
    lease_seconds: float = Field(60.0, gt=0)
    heartbeat_seconds: float = Field(15.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    max_attempts: int = Field(3, ge=1)
    dedup_window_seconds: int = Field(3600, ge=0)

    @model_validator(mode="after")
    def _heartbeat_shorter_than_lease(self) -> QueueSettings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("heartbeat_seconds must be shorter than lease_seconds")
        if self.worker_slots is not None and self.worker_slots > self.concurrency:
            raise ValueError(
                f"worker_slots ({self.worker_slots}) cannot exceed concurrency "
                f"({self.concurrency}), the global limit"
            )
        return self

    @property
    def local_slots(self) -> int:
        return self.worker_slots or self.concurrency


class TimeoutSettings(Strict):
    session_seconds: float = Field(900.0, gt=0)
    stage_seconds: float = Field(300.0, gt=0)
    llm_call_seconds: float = Field(120.0, gt=0)
    tool_call_seconds: float = Field(60.0, gt=0)
    runbook_fetch_seconds: float = Field(10.0, gt=0)


class RetentionSettings(Strict):
    days: int = Field(90, ge=1)
    cleanup_interval_hours: float = Field(24.0, gt=0)


class HttpSettings(Strict):
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)


class LoggingSettings(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_logs: bool = Field(False, alias="json")


class TarsySettings(Strict):
    slack: SlackSettings = Field(default_factory=SlackSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)


# --------------------------------------------------------------------------- agents.yaml

WRITE_VERBS = (
    "create",
    "update",
    "patch",
    "delete",
    "apply",
    "scale",
    "exec",
    "restart",
    "drain",
    "cordon",
    "uncordon",
    "evict",
    "rollout",
    "run",
    "install",
    "uninstall",
    "upgrade",
    "edit",
    "set",
    "label",
    "annotate",
    "taint",
    "kill",
    "write",
    "put",
    "post",
    "remove",
    "replace",
)


class MaskingPattern(Strict):
    name: str
    pattern: str
    replacement: str = "[MASKED:{name}]"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"invalid regex: {e}") from e
        return v


class MaskingSettings(Strict):
    enabled: bool = True
    groups: list[str] = Field(
        default_factory=lambda: [
            "kubernetes_secrets",
            "private_keys",
            "certificates",
            "bearer_tokens",
            "jwt",
            "api_keys",
            "passwords",
            "connection_strings",
            "cloud_keys",
            "slack_tokens",
            "kubeconfig",
        ]
    )
    patterns: list[MaskingPattern] = Field(default_factory=list)


class SummarizationSettings(Strict):
    enabled: bool = True
    threshold_tokens: int = Field(8000, ge=100)
    """A tool result estimated above this is summarised (or cut) before the model sees it."""
    summary_max_tokens: int = Field(1200, ge=50)
    provider: str | None = None
    """LLM provider for summaries (a cheaper model); default: the agent's own provider."""


class McpTransport(Strict):
    type: Literal["stdio", "http", "sse"]
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _fields_for_type(self) -> McpTransport:
        if self.type == "stdio" and not self.command:
            raise ValueError("a stdio transport needs 'command'")
        if self.type in ("http", "sse") and not self.url:
            raise ValueError(f"a {self.type} transport needs 'url'")
        return self


class McpServerConfig(Strict):
    transport: McpTransport
    instructions: str = ""
    enabled: bool = True
    allow_tools: list[str] = Field(default_factory=list)
    """Glob patterns; when set, only matching tools are offered."""
    deny_tools: list[str] = Field(default_factory=list)
    allow_write_tools: list[str] = Field(default_factory=list)
    """Glob patterns of write-looking tools an operator explicitly allows."""
    masking: MaskingSettings = Field(default_factory=MaskingSettings)
    summarization: SummarizationSettings = Field(default_factory=SummarizationSettings)


class LlmProviderConfig(Strict):
    type: Literal["gemini", "openai-compatible"]
    model: str
    api_key: SecretStr | None = None
    base_url: str | None = None
    api_version: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_output_tokens: int | None = Field(None, gt=0)
    thinking_budget: int | None = None
    include_thoughts: bool = False
    timeout_seconds: float = Field(120.0, gt=0)
    max_retries: int = Field(4, ge=0, le=10)
    retry_base_seconds: float = Field(1.0, ge=0)
    retry_max_seconds: float = Field(30.0, ge=0)


class AgentConfig(Strict):
    description: str = ""
    instructions: str = ""
    mcp_servers: list[str] = Field(default_factory=list)
    llm_provider: str | None = None
    max_iterations: int = Field(10, ge=1, le=100)


class StageConfig(Strict):
    name: str
    agent: str | None = None
    agents: list[str] = Field(default_factory=list)
    """Several agents run in parallel; `synthesis_agent` merges their results."""
    synthesis_agent: str | None = None
    success_policy: Literal["any", "all"] = "any"
    timeout_seconds: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_or_many(self) -> StageConfig:
        if bool(self.agent) == bool(self.agents):
            raise ValueError("a stage needs exactly one of 'agent' or 'agents'")
        if self.agents and len(self.agents) < 2:
            raise ValueError("'agents' runs several agents in parallel; use 'agent' for one")
        return self

    @property
    def agent_names(self) -> list[str]:
        return [self.agent] if self.agent else list(self.agents)


class ChatConfig(Strict):
    enabled: bool = True
    agent: str | None = None
    """Agent answering follow-ups; default: the chain's last stage agent."""
    mcp_servers: list[str] | None = None
    max_iterations: int = Field(6, ge=1, le=50)


class ChainConfig(Strict):
    description: str = ""
    alert_types: list[str] = Field(default_factory=list)
    stages: list[StageConfig] = Field(min_length=1)
    runbook: str | None = None
    """Runbook for this chain: URL, GitHub blob URL, or a file name in a runbook directory."""
    chat: ChatConfig = Field(default_factory=ChatConfig)


class RoutingRule(Strict):
    chain: str
    alert_types: list[str] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)
    """Label matchers: exact value or `~regex`."""


class RoutingConfig(Strict):
    default_chain: str
    rules: list[RoutingRule] = Field(default_factory=list)


class RunbookSettings(Strict):
    directories: list[str] = Field(default_factory=lambda: ["runbooks"])
    """Relative paths are relative to the config directory (the loader makes them absolute)."""
    by_alert_type: dict[str, str] = Field(default_factory=dict)
    default: str | None = "generic.md"
    cache_ttl_seconds: int = Field(600, ge=0)
    github_token: SecretStr | None = None
    allowed_hosts: list[str] = Field(default_factory=list)
    """When set, runbook URLs are fetched only from these hosts (list GitHub's hosts too if
    you want them); empty means any host."""


class AgentsConfig(Strict):
    llm_providers: dict[str, LlmProviderConfig] = Field(min_length=1)
    default_llm_provider: str
    mcp_servers: dict[str, McpServerConfig] = Field(default_factory=dict)
    agents: dict[str, AgentConfig] = Field(min_length=1)
    chains: dict[str, ChainConfig] = Field(min_length=1)
    routing: RoutingConfig
    runbooks: RunbookSettings = Field(default_factory=RunbookSettings)

    @model_validator(mode="after")
    def _references_exist(self) -> AgentsConfig:
        errors: list[tuple[tuple, str]] = []

        def known(names) -> str:
            return ", ".join(sorted(names)) or "none defined"

        if self.default_llm_provider not in self.llm_providers:
            errors.append(
                (
                    ("default_llm_provider",),
                    f"unknown llm provider '{self.default_llm_provider}' "
                    f"(known: {known(self.llm_providers)})",
                )
            )
        for aname, agent in self.agents.items():
            if agent.llm_provider and agent.llm_provider not in self.llm_providers:
                errors.append(
                    (
                        ("agents", aname, "llm_provider"),
                        f"unknown llm provider '{agent.llm_provider}' "
                        f"(known: {known(self.llm_providers)})",
                    )
                )
            for i, srv in enumerate(agent.mcp_servers):
                if srv not in self.mcp_servers:
                    errors.append(
                        (
                            ("agents", aname, "mcp_servers", i),
                            f"unknown MCP server '{srv}' (known: {known(self.mcp_servers)})",
                        )
                    )
        for sname, server in self.mcp_servers.items():
            prov = server.summarization.provider
            if prov and prov not in self.llm_providers:
                errors.append(
                    (
                        ("mcp_servers", sname, "summarization", "provider"),
                        f"unknown llm provider '{prov}' (known: {known(self.llm_providers)})",
                    )
                )
        for cname, chain in self.chains.items():
            for si, stage in enumerate(chain.stages):
                for field, names in (
                    ("agent", [stage.agent] if stage.agent else []),
                    ("agents", stage.agents),
                    ("synthesis_agent", [stage.synthesis_agent] if stage.synthesis_agent else []),
                ):
                    for ai, name in enumerate(names):
                        if name not in self.agents:
                            path = ("chains", cname, "stages", si, field)
                            if field == "agents":
                                path = (*path, ai)
                            errors.append(
                                (path, f"unknown agent '{name}' (known: {known(self.agents)})")
                            )
            if chain.chat.agent and chain.chat.agent not in self.agents:
                errors.append(
                    (
                        ("chains", cname, "chat", "agent"),
                        f"unknown agent '{chain.chat.agent}' (known: {known(self.agents)})",
                    )
                )
            for i, srv in enumerate(chain.chat.mcp_servers or []):
                if srv not in self.mcp_servers:
                    errors.append(
                        (
                            ("chains", cname, "chat", "mcp_servers", i),
                            f"unknown MCP server '{srv}' (known: {known(self.mcp_servers)})",
                        )
                    )
        if self.routing.default_chain not in self.chains:
            errors.append(
                (
                    ("routing", "default_chain"),
                    f"unknown chain '{self.routing.default_chain}' (known: {known(self.chains)})",
                )
            )
        for i, rule in enumerate(self.routing.rules):
            if rule.chain not in self.chains:
                errors.append(
                    (
                        ("routing", "rules", i, "chain"),
                        f"unknown chain '{rule.chain}' (known: {known(self.chains)})",
                    )
                )
        if errors:
            raise ReferenceErrors(errors)
        return self


class ReferenceErrors(ValueError):
    """Several cross-reference errors, each with its own key path (picked up by the loader)."""

    def __init__(self, errors: list[tuple[tuple, str]]):
        self.errors = errors
        super().__init__("; ".join(msg for _, msg in errors))


class TarsyConfig(BaseModel):
    """The effective configuration: both files, after substitution and validation."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: TarsySettings
    agents: AgentsConfig
    config_dir: str
