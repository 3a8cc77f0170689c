"""Shared test helpers (importable as `tests.helpers.*` when pytest runs from the repo root)."""
