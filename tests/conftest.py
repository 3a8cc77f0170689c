"""Suite-wide guard: tests never reach beyond this machine.

Every name lookup for a non-loopback host fails at once, so a test (or the code under test)
that would reach the internet fails loudly here instead of sending traffic out.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

_real_getaddrinfo = socket.getaddrinfo


def _is_local(host: object) -> bool:
    if host in (None, "", "localhost", b"localhost"):
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name.endswith(".localhost")


def _offline_getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        raise socket.gaierror(socket.EAI_NONAME, f"tests are offline: refusing to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _offline_getaddrinfo)
