"""Scripted Gemini REST (and OpenAI-compatible) model server for local runs and tests."""

from devkit.gemini.server import GeminiServer, RecordedRequest

__all__ = ["GeminiServer", "RecordedRequest"]
