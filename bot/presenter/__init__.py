"""Turning investigation state into Slack messages, and sending them within Slack's limits."""
