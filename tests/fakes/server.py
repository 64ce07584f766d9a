"""A real HTTP server on 127.0.0.1, on a random port, in a thread: the base of every fake provider."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class FakeServer:
    """Routes requests to handlers; records every request; can be told to answer the next one differently."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        self._scripted: dict[tuple[str, str], deque[Response]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration ----------------------------------------------------

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes[(method.upper(), path)] = handler
            return handler

        return register

    def answer_next(self, method: str, path: str, response: Response) -> None:
        """Answer the next ``method path`` with ``response`` instead of the handler (once)."""
        self._scripted[(method.upper(), path)].append(response)

    def calls(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- lifecycle --------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> Self:
        server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._server = server
        # A short poll interval: shutdown() waits up to one interval, at every test's teardown.
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.02), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.errors:
            raise AssertionError(f"{type(self).__name__} handler failed") from self.errors[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ----------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        key = (request.method, request.path)
        with self._lock:
            self.requests.append(
                RecordedRequest(request.method, request.path, request.args.to_dict(), dict(request.headers), body)
            )
            scripted = self._scripted[key].popleft() if self._scripted[key] else None
        if scripted is not None:
            response = scripted
        elif key in self._routes:
            try:
                response = self._routes[key](request)
            except Exception as exc:  # surfaced by stop(), so a broken fake fails the test
                self.errors.append(exc)
                response = Response("fake failed", status=500)
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)
