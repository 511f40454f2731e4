"""Where webhooks may go: outside development https only, and never to loopback, private or link-local addresses.

Checked when an endpoint is registered, and again on every connection: the HTTP client resolves the host name
itself, refuses a forbidden address and connects to the address it checked, so DNS rebinding cannot slip
a private target in between (TLS still verifies the host name).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why (no address or path in it)."""


def forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url(url: str, *, insecure_allowed: bool) -> None:
    """Refuse a URL that may not receive webhooks (TargetRefused)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("the URL must be absolute, with an https scheme and a host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    if insecure_allowed:
        return
    if parts.scheme != "https":
        raise TargetRefused("webhook URLs must use https")
    try:
        addresses = await resolve(parts.hostname, parts.port or 443)
    except OSError:
        raise TargetRefused("the URL's host does not resolve") from None
    _refuse_forbidden(addresses)


def _refuse_forbidden(addresses: Iterable[str]) -> None:
    addresses = list(addresses)
    if not addresses or any(forbidden(address) for address in addresses):
        raise TargetRefused("the URL's host resolves to a loopback, private or link-local address")


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves each host itself and connects only to an address it checked."""

    def __init__(self) -> None:
        self._inner = AutoBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[object] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
            _refuse_forbidden(addresses)
        except TargetRefused as exc:
            raise httpcore.ConnectError(str(exc)) from None
        except OSError:
            raise httpcore.ConnectError("the host does not resolve") from None
        return await self._inner.connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)  # type: ignore[arg-type]

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[object] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def webhook_client(*, timeout_s: float, max_connections: int, insecure_allowed: bool) -> httpx.AsyncClient:
    """The HTTP client webhooks go out with: no redirects, bounded time, and (unless insecure targets are allowed)
    the address check on every connection."""
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=max_connections,
                                                             max_keepalive_connections=max_connections))
    if not insecure_allowed:
        # httpx takes no network backend: give its transport a pool that has ours (same settings otherwise).
        pool = transport._pool
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=pool._ssl_context, max_connections=max_connections,
            max_keepalive_connections=max_connections, network_backend=_GuardedBackend())
    client = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout_s), follow_redirects=False)
    # No client spans and no traceparent header towards NGO systems: our trace ids stay ours, and the delivery
    # has its own span ("webhook deliver") in the change's trace.
    HTTPXClientInstrumentor.uninstrument_client(client)
    return client
