"""Runbook resolution: which runbook an alert gets, and fetching it.

Candidates in order: the alert's runbook URL / annotation, the chain's `runbook`, the
per-alert-type mapping, then the default (`generic.md`). Each reference is an http(s) URL
(GitHub blob URLs are rewritten to raw.githubusercontent.com) or a file name looked up in the
runbook directories. A candidate that cannot be fetched is noted (the session shows why) and
the next one is tried, so an investigation always goes on. Runbook text is untrusted: masked.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import aiohttp

from chains.alert import Alert
from config.models import ChainConfig, RunbookSettings

GENERIC_RUNBOOK = """# Generic investigation runbook
1. Establish what is failing, where (cluster, namespace, service) and since when.
2. Look for recent changes: rollouts, config changes, scaling events.
3. Check the health of the affected workload: pod states, restarts, events, logs.
4. Check dependencies and resource limits (CPU, memory, disk, network).
5. Recommend the safest action that restores service, and how to verify it.
"""

GITHUB_HOSTS = frozenset({"github.com", "raw.githubusercontent.com", "api.github.com"})
MAX_RUNBOOK_BYTES = 512 * 1024
_BLOB = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/blob/(.+)$")


class TextMasker(Protocol):
    def mask_text(self, text: str) -> str: ...


@dataclass(slots=True)
class Runbook:
    text: str
    source: str  # URL, file path, or "builtin:generic"
    notes: list[str] = field(default_factory=list)  # why earlier candidates were skipped


def github_raw_url(url: str) -> str:
    """`https://github.com/o/r/blob/ref/path` -> `https://raw.githubusercontent.com/o/r/ref/path`."""
    m = _BLOB.match(url)
    return f"https://raw.githubusercontent.com/{m[1]}/{m[2]}/{m[3]}" if m else url


def _alert_reference(alert: Alert) -> str | None:
    if alert.runbook_url:
        return alert.runbook_url
    for key in ("runbook_url", "runbook"):
        if alert.annotations.get(key):
            return alert.annotations[key]
        if alert.labels.get(key):
            return alert.labels[key]
    return None


class RunbookResolver:
    def __init__(
        self,
        settings: RunbookSettings,
        *,
        config_dir: str | Path = ".",
        timeout_seconds: float = 10.0,
        masker: TextMasker | None = None,
        github_token: str | None = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout_seconds
        self.masker = masker
        base = Path(config_dir)
        self.directories = [
            Path(d) if Path(d).is_absolute() else base / d for d in settings.directories
        ]
        token = github_token
        if token is None and settings.github_token is not None:
            token = settings.github_token.get_secret_value() or None
        self.token = token if token is not None else (os.environ.get("GITHUB_TOKEN") or None)
        self._cache: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def candidates(self, alert: Alert, chain: ChainConfig | None) -> list[str]:
        refs = [
            _alert_reference(alert),
            chain.runbook if chain else None,
            self.settings.by_alert_type.get(alert.kind),
            self.settings.default,
        ]
        out: list[str] = []
        for r in refs:
            if r and r not in out:
                out.append(r)
        return out

    async def resolve(self, alert: Alert, chain: ChainConfig | None = None) -> Runbook:
        notes: list[str] = []
        for ref in self.candidates(alert, chain):
            try:
                text, source = await self.fetch(ref)
            except RunbookUnavailable as e:
                notes.append(str(e))
                continue
            return Runbook(text=self._mask(text), source=source, notes=notes)
        return Runbook(text=GENERIC_RUNBOOK, source="builtin:generic", notes=notes)

    def _mask(self, text: str) -> str:
        return self.masker.mask_text(text) if self.masker else text

    async def fetch(self, ref: str) -> tuple[str, str]:
        """(text, source) for one reference; raises `RunbookUnavailable` with the reason."""
        if ref.startswith(("http://", "https://")):
            url = github_raw_url(ref)
            return await self._fetch_url(url), url
        return self._read_file(ref)

    def _read_file(self, name: str) -> tuple[str, str]:
        for d in self.directories:
            path = (d / name).resolve()
            if not path.is_relative_to(d.resolve()):
                raise RunbookUnavailable(f"runbook '{name}' is outside the runbook directories")
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace"), str(path)
        where = ", ".join(str(d) for d in self.directories) or "no runbook directories configured"
        raise RunbookUnavailable(f"runbook '{name}' not found in {where}")

    def _headers_for(self, host: str) -> dict[str, str]:
        headers = {"Accept": "text/plain, text/markdown, */*"}
        trusted = host in GITHUB_HOSTS or host in self.settings.allowed_hosts
        if self.token and trusted:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def _fetch_url(self, url: str) -> str:
        host = urlparse(url).hostname or ""
        allowed = self.settings.allowed_hosts
        if allowed and host not in allowed:
            raise RunbookUnavailable(
                f"runbook {url} not fetched: host '{host}' is not in runbooks.allowed_hosts"
            )
        ttl = self.settings.cache_ttl_seconds
        hit = self._cache.get(url)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            hit = self._cache.get(url)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            text = await self._download(url, host)
            if ttl > 0:
                self._cache[url] = (time.monotonic() + ttl, text)
            return text

    async def _download(self, url: str, host: str) -> str:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(url, headers=self._headers_for(host)) as resp,
            ):
                if resp.status != 200:
                    hint = (
                        " (set GITHUB_TOKEN for private repos)"
                        if resp.status in (401, 403, 404) and host in GITHUB_HOSTS
                        else ""
                    )
                    raise RunbookUnavailable(f"runbook {url} returned HTTP {resp.status}{hint}")
                body = await resp.content.read(MAX_RUNBOOK_BYTES + 1)
        except RunbookUnavailable:
            raise
        except TimeoutError:
            raise RunbookUnavailable(f"runbook {url} timed out after {self.timeout:g}s") from None
        except aiohttp.ClientError as e:
            raise RunbookUnavailable(f"runbook {url} unreachable: {e}") from None
        text = body[:MAX_RUNBOOK_BYTES].decode("utf-8", errors="replace")
        if len(body) > MAX_RUNBOOK_BYTES:
            text += "\n\n[runbook truncated at 512 KiB]"
        return text


class RunbookUnavailable(Exception):
    """A runbook reference could not be read; the message says which and why."""
