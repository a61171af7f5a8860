"""A real webhook receiver on 127.0.0.1 for the webhook tests.

It verifies every request with the Standard Webhooks library, the way a care team's system
would, and records what arrived. It can refuse connections (``stop``) and come back on the
same port (``start``), or answer with a chosen status code.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    webhook_id: str
    path: str
    payload: dict[str, Any]
    arrived_at: float


@dataclass
class WebhookReceiver:
    """Verifies signatures with ``secrets[path]`` (set it once the endpoint is registered)."""

    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    status_code: int = 204
    delay: float = 0.0  # seconds before answering, like a slow receiver
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver._record(self.path, body, dict(self.headers.items()))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status_code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            request_queue_size = 128  # the default 5 refuses bursts from parallel senders

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        secret = self.secrets.get(path)
        try:
            if secret is None:
                raise WebhookVerificationError(f"no secret for {path}")
            payload = Webhook(secret).verify(body, headers)
        except WebhookVerificationError as error:
            with self._lock:
                self.rejected.append(str(error))
            return
        with self._lock:
            self.received.append(
                Received(
                    webhook_id=headers.get("webhook-id") or headers["Webhook-Id"],
                    path=path,
                    payload=json.loads(body) if payload is None else payload,
                    arrived_at=time.monotonic(),
                )
            )

    def webhook_id_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(item.webhook_id for item in self.received)

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Received]:
        """Waits until ``count`` verified requests arrived (or the timeout), returns them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self._lock:
            return list(self.received)
