"""A light HTTP/1.1 client for the load benchmark: keep-alive connections over asyncio streams, no more.

httpx builds a request and a response object through several layers (about 2.5 ms of CPU a request here); on a
2-core machine shared with the servers and PostgreSQL, the benchmark's own process then got too little of the
CPU to keep 16 requests in flight, and both servers measured the same throughput whatever they cost. This client
speaks just what the benchmark needs (GET with a query string, PUT/PATCH/POST with a JSON body, Content-Length
or chunked answers) with the calls the Driver makes of httpx (`get`, `put`, `patch`, `post`; `status_code`,
`headers`, `json()`), and drives every server it is pointed at the same way.
"""

import asyncio
import json
from urllib.parse import urlencode, urlsplit


class ClientError(Exception):
    """A connection failed or closed early, or the answer did not come in time."""


class Headers(dict):
    """Response headers by lower-case name."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def get(self, name: str, default=None):  # type: ignore[override]
        return super().get(name.lower(), default)


class Response:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Headers | None = None, content: bytes = b""):
        self.status_code = status_code
        self.headers = headers if headers is not None else Headers()
        self.content = content

    def json(self):
        return json.loads(self.content)


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        self.writer.close()


class LightClient:
    """`async with LightClient(base_url, max_connections=16, timeout=30) as c: r = await c.get(...)`."""

    def __init__(self, base_url: str, *, max_connections: int = 16, timeout: float = 30.0):
        u = urlsplit(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.host_header = f"{self.host}:{self.port}".encode()
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []

    async def __aenter__(self) -> "LightClient":
        return self

    async def __aexit__(self, *exc) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def get(self, path: str, *, params: dict | None = None, headers: dict | None = None) -> Response:
        if params:
            path = f"{path}?{urlencode(params, doseq=True)}"
        return await self.request("GET", path, headers=headers)

    async def post(self, path: str, *, json: object = None, headers: dict | None = None) -> Response:
        return await self.request("POST", path, headers=headers, json_body=json)

    async def put(self, path: str, *, json: object = None, headers: dict | None = None) -> Response:
        return await self.request("PUT", path, headers=headers, json_body=json)

    async def patch(self, path: str, *, json: object = None, headers: dict | None = None) -> Response:
        return await self.request("PATCH", path, headers=headers, json_body=json)

    async def request(
        self, method: str, path: str, *, headers: dict | None = None, json_body: object = None
    ) -> Response:
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self.host_header]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}".encode())
        body = b""
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            lines.append(b"Content-Type: application/json")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: %d" % len(body))
        raw = b"\r\n".join(lines) + b"\r\n\r\n" + body
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            try:
                async with asyncio.timeout(self.timeout):
                    if conn is None:
                        conn = _Connection(*await asyncio.open_connection(self.host, self.port))
                    conn.writer.write(raw)
                    response, keep = await _read_response(conn.reader)
            except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
                if conn is not None:
                    conn.close()
                raise ClientError(type(e).__name__) from e
            if keep:
                self._idle.append(conn)
            else:
                conn.close()
            return response


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = Headers()
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        content = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        content = b"".join(parts)
    else:
        content = b""
    return Response(status, headers, content), headers.get("connection", "").lower() != "close"
