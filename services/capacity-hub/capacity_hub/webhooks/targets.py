"""Where webhooks may go: outside development https only, and never to loopback, private or link-local addresses.

Checked when an endpoint is registered, and again on every connection by the HTTP client of each endpoint
(`WebhookSender`, aiohttp): its resolver resolves the host name once per connection (no DNS cache) and refuses a
host with any forbidden address, and its socket factory refuses to open a socket to a forbidden address, so DNS
rebinding cannot slip a private target in between, and an address written in the URL (which aiohttp never hands
to a resolver) is checked too. The request keeps its URL, so the Host header and TLS (SNI and certificate check)
still name the host.

aiohttp rather than httpx/httpcore: at a thousand deliveries a second, httpcore's pool, anyio streams and h11 cost
about 0.44 ms of CPU per request; aiohttp's C parser and plain asyncio protocol about 0.13 ms (50 endpoints, one
request in flight each, against a bare receiver).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable, Mapping

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

# An NGO's answer is read up to this much and dropped: only its status matters.
MAX_ANSWER_BYTES = 64 * 1024
_REFUSED = "the URL's host resolves to a loopback, private or link-local address"
# Given, so aiohttp adds none of its own (skipping them is its slow path); identity: an answer is dropped unread.
_FIXED_HEADERS = {"User-Agent": "verbinding-capacity-hub", "Accept": "*/*", "Accept-Encoding": "identity"}


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why (no address or path in it)."""


class AddressRefused(OSError):
    """A connection to a forbidden address was refused before any packet left (an OSError: aiohttp reports it as
    a connection error of the attempt)."""

    def __init__(self) -> None:
        super().__init__(errno.EACCES, _REFUSED)


class SendFailed(Exception):
    """An attempt got no answer; the message is what its attempt records (no URL, host or address in it)."""


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
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL:
        raise TargetRefused("the URL must be absolute, with an https scheme and a host") from None
    if parts.scheme not in ("https", "http") or not parts.host:
        raise TargetRefused("the URL must be absolute, with an https scheme and a host")
    if parts.userinfo:
        raise TargetRefused("the URL must not carry credentials")
    if insecure_allowed:
        return
    if parts.scheme != "https":
        raise TargetRefused("webhook URLs must use https")
    try:
        addresses = await resolve(parts.host, parts.port or 443)
    except OSError:
        raise TargetRefused("the URL's host does not resolve") from None
    refuse_forbidden(addresses)


def refuse_forbidden(addresses: Iterable[str]) -> None:
    addresses = list(addresses)
    if not addresses or any(forbidden(address) for address in addresses):
        raise TargetRefused(_REFUSED)


class GuardedResolver(AbstractResolver):
    """Resolves a host name for one connection and refuses it (AddressRefused) if any of its addresses is
    forbidden: the connector then connects only to addresses checked here."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)  # an OSError: the attempt's "does not resolve"
        if not answers or any(forbidden(answer["host"]) for answer in answers):
            raise AddressRefused()
        return answers

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket(address_info: tuple) -> socket.socket:
    """The socket for one connection attempt, refused (AddressRefused) for a forbidden address: the last check,
    which also covers an address written in the URL."""
    family, kind, proto, _, address = address_info
    if forbidden(str(address[0])):
        raise AddressRefused()
    return socket.socket(family=family, type=kind, proto=proto)


class WebhookSender:
    """One endpoint's HTTP client: one connection, kept alive; no redirects, cookies, proxies or compression; a
    connect, and each wait for the answer's next bytes, within `timeout_s` (per phase, as before: a total timeout
    costs a timer per request); an answer read up to MAX_ANSWER_BYTES and dropped. Not instrumented: no
    client spans and no traceparent towards NGO systems (the delivery has its own span in the change's trace).
    Made inside the event loop that uses it."""

    def __init__(self, *, check_addresses: bool, timeout_s: float, ssl_context: ssl.SSLContext | None = None) -> None:
        guard = {"resolver": GuardedResolver(), "socket_factory": guarded_socket} if check_addresses else {}
        connector = aiohttp.TCPConnector(limit=1, use_dns_cache=False, ssl=ssl_context or True, **guard)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)

    async def post(self, url: URL, headers: Mapping[str, str], body: bytes) -> int:
        """POST `body` and return the answer's status; SendFailed when there is none."""
        try:
            async with self._session.post(url, data=body, headers={**_FIXED_HEADERS, **headers},
                                          allow_redirects=False) as answer:
                read = 0
                while read < MAX_ANSWER_BYTES and (chunk := await answer.content.read(MAX_ANSWER_BYTES - read)):
                    read += len(chunk)
                return answer.status
        except aiohttp.ClientConnectorError as exc:
            raise SendFailed(f"ConnectError: {_reason(exc)}"[:300]) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendFailed(type(exc).__name__) from exc

    async def aclose(self) -> None:
        await self._session.close()


def _reason(failure: aiohttp.ClientConnectorError) -> str:
    """Why a connection failed, without the host or address it was to (aiohttp's messages name them)."""
    error = failure.os_error
    if isinstance(error, AddressRefused):
        return _REFUSED
    if isinstance(failure, aiohttp.ClientConnectorDNSError):
        return "the host does not resolve"
    return os.strerror(error.errno) if error.errno else type(error).__name__
