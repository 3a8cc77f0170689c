"""Local Slack emulator speaking the real Web API, Socket Mode and HTTP-mode protocols."""

from devkit.slack.emulator import SlackEmulator
from devkit.slack.models import ApiCall, Delivery, Edit, Ephemeral, Message, Response

__all__ = ["ApiCall", "Delivery", "Edit", "Ephemeral", "Message", "Response", "SlackEmulator"]
