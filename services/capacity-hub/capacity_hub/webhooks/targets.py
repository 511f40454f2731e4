"""Where webhooks may go: outside development https only, and never to loopback, private or link-local addresses.

Checked when an endpoint is registered, and again on every connection by a transport of the hub's own (public
httpx and httpcore interfaces only): its network backend resolves the host name once, refuses a forbidden address and
connects to the address it checked, so DNS rebinding cannot slip a private target in between. The request keeps
its URL, so the Host header and TLS (SNI and certificate check) still name the host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

# An NGO's answer is read up to this much and dropped: only its status matters.
MAX_ANSWER_BYTES = 64 * 1024


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
        raise TargetRefused("the URL's host resolves to a loopback, private or link-local address")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves each host once and connects only to an address it checked (any address when `check` is off)."""

    def __init__(self, *, check: bool) -> None:
        self.check = check
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[object] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
            if self.check:
                refuse_forbidden(addresses)
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


# Most specific first: the first match is raised.
_ERRORS: list[tuple[type[Exception], type[httpx.HTTPError]]] = [
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout), (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException), (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError), (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError), (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError), (httpcore.ProtocolError, httpx.ProtocolError),
]


class Target:
    """A webhook URL parsed once for every attempt: httpcore's URL and the Host header."""

    def __init__(self, url: str) -> None:
        parsed = httpx.URL(url)
        self.url = httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port,
                                target=parsed.raw_path)
        self.headers = [(b"Host", parsed.netloc)]


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool with the guarded backend; reads at most MAX_ANSWER_BYTES of an
    answer and drops the rest."""

    def __init__(self, *, max_connections: int, check_addresses: bool,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(), max_connections=max_connections,
            max_keepalive_connections=max_connections, network_backend=GuardedBackend(check=check_addresses))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(method=request.method, url=httpcore.URL(
            scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
            target=request.url.raw_path), headers=request.headers.raw, content=request.stream,
            extensions=request.extensions)
        status, headers, body, version = await self._send(core, request)
        return httpx.Response(status_code=status, headers=headers, content=body,
                              extensions={"http_version": version})

    async def post(self, target: Target, headers: list[tuple[bytes, bytes]], body: bytes,
                   timeout: dict[str, float]) -> int:
        """POST `body` to a target parsed once, and return the answer's status: a delivery's hot path, without an
        httpx.Request to build (URL parsing, header normalising) and take apart again on every attempt."""
        core = httpcore.Request(method=b"POST", url=target.url, headers=[
            *target.headers, (b"Content-Length", str(len(body)).encode()), *headers], content=body,
            extensions={"timeout": timeout})
        status, _, _, _ = await self._send(core, None)
        return status

    async def _send(self, core: httpcore.Request, request: httpx.Request | None) -> tuple[int, list, bytes, bytes]:
        """(status, headers, the answer's first MAX_ANSWER_BYTES, HTTP version); httpcore's errors as httpx's."""
        try:
            answer = await self._pool.handle_async_request(core)
            body = b""
            try:
                async for chunk in answer.aiter_stream():
                    body += chunk[:MAX_ANSWER_BYTES - len(body)]
                    if len(body) >= MAX_ANSWER_BYTES:
                        break
            finally:
                await answer.aclose()
        except Exception as exc:
            for core_error, error in _ERRORS:
                if isinstance(exc, core_error):
                    raise error(str(exc), request=request) from exc
            raise
        return answer.status, answer.headers, body, answer.extensions.get("http_version", b"HTTP/1.1")

    async def aclose(self) -> None:
        await self._pool.aclose()


def webhook_client(*, timeout_s: float, max_connections: int, insecure_allowed: bool) -> httpx.AsyncClient:
    """An HTTP client on the guarded transport: no redirects, bounded time, and (unless insecure targets are
    allowed) the address check on every connection."""
    transport = GuardedTransport(max_connections=max_connections, check_addresses=not insecure_allowed)
    client = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout_s), follow_redirects=False)
    # No client spans and no traceparent header towards NGO systems: our trace ids stay ours, and the delivery
    # has its own span ("webhook deliver") in the change's trace.
    HTTPXClientInstrumentor.uninstrument_client(client)
    return client
