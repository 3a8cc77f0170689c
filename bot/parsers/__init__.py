"""Alert parsers: Slack alert messages, webhook payloads and `/tarsy` text -> `chains.alert.Alert`.

All functions are pure (no I/O, no logging of payloads) and raise `PayloadError` with the
field path on malformed input.
"""

from .common import normalize_severity, severity_from_color
from .errors import PayloadError, UnknownFormat
from .freeform import (
    CancelCommand,
    HelpCommand,
    InvestigateCommand,
    InvestigateRequest,
    MessageLink,
    SlashCommand,
    StatusCommand,
    parse_investigate_text,
    parse_slash_command,
)
from .slack_message import parse_alert_message
from .webhooks import (
    SUPPORTED_FORMATS,
    detect_and_parse,
    detect_format,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
    parse_pagerduty,
)

__all__ = [
    "SUPPORTED_FORMATS",
    "CancelCommand",
    "HelpCommand",
    "InvestigateCommand",
    "InvestigateRequest",
    "MessageLink",
    "PayloadError",
    "SlashCommand",
    "StatusCommand",
    "UnknownFormat",
    "detect_and_parse",
    "detect_format",
    "normalize_severity",
    "parse_alert_message",
    "parse_alertmanager",
    "parse_generic",
    "parse_grafana",
    "parse_investigate_text",
    "parse_pagerduty",
    "parse_slash_command",
    "severity_from_color",
]
