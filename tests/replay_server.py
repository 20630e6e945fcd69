"""A real HTTP server on 127.0.0.1 that answers from fixtures, for the sync tests.

Every request goes to `route(params)` unless a scripted reply matches it first: `script(match,
*replies)` queues replies for requests whose query contains `match`, used once each, in order.
A reply can be cut: the headers promise the whole body, only `cut_after` bytes of it are sent,
and the socket is closed, as a dropped connection does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None


@dataclass
class Seen:
    path: str
    params: dict[str, str]
    user_agent: str
    at: float


class ReplayServer:
    def __init__(self, route: Callable[[dict[str, str]], Reply]):
        self.route = route
        self.requests: list[Seen] = []
        self._scripted: list[tuple[dict[str, str], Reply]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, match: dict[str, str], *replies: Reply) -> None:
        with self._lock:
            self._scripted.extend((match, reply) for reply in replies)

    def params_of(self, **match: str) -> list[dict[str, str]]:
        """The query of each request so far that contains `match`."""
        return [r.params for r in self.requests if match.items() <= r.params.items()]

    def _reply_to(self, params: dict[str, str]) -> Reply:
        with self._lock:
            for index, (match, reply) in enumerate(self._scripted):
                if match.items() <= params.items():
                    del self._scripted[index]
                    return reply
        return self.route(params)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = dict(parse_qsl(url.query))
                user_agent = self.headers.get("User-Agent", "")
                server.requests.append(Seen(url.path, params, user_agent, time.monotonic()))
                reply = server._reply_to(params)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                body = reply.body if reply.cut_after is None else reply.body[: reply.cut_after]
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format, *args) -> None:  # quiet test output
                pass

        return Handler
