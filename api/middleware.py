"""The ASGI layer every request passes before routing, authentication or parsing.

``BodyLimit`` answers 404 at once for a path holding control characters (no id phenowatch
gives out has one), and refuses a body larger than its limit with a 413 problem: at once when
the declared ``Content-Length`` is too large, otherwise while the bytes stream in (a chunked
body is counted and never held beyond the limit). JSON and form bodies get the small limit, any
other body a larger one; the upload route streams its body to disk under its own limit and is
left alone.
``SecurityHeaders`` marks every answer ``nosniff`` and, unless the route chose otherwise,
``Cache-Control: no-store`` (answers carry patient data; nothing in between may keep them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, MutableMapping
from typing import Any

from api.problems import MEDIA_TYPE, TYPE_BASE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]

JSON_MAX_BYTES = 64 * 1024
OTHER_MAX_BYTES = 1024 * 1024
#: routes that stream their body to disk and enforce their own (much larger) limit
STREAMED_PATHS = re.compile(r"^/v1/patients/[^/]+/uploads/?$")
_SMALL_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def body_limit_for(content_type: str, *, json_max: int, other_max: int) -> int:
    media = content_type.split(";", 1)[0].strip().lower()
    if media.endswith("/json") or media.endswith("+json") or media in _SMALL_TYPES:
        return json_max
    return other_max


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, json_max: int = JSON_MAX_BYTES, other_max: int = OTHER_MAX_BYTES
    ) -> None:
        self.app = app
        self.json_max = json_max
        self.other_max = other_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith("/v1/") and any(ord(c) < 32 or ord(c) == 127 for c in path):
            # no id phenowatch gives out holds a control character: nothing is there (the FHIR
            # interface answers such paths with its own OperationOutcome)
            await _send_problem(send, 404, "Not Found", "nothing is at this path")
            return
        if STREAMED_PATHS.match(path):
            await self.app(scope, receive, send)
            return
        headers = {key.lower(): value for key, value in scope.get("headers", ())}
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        limit = body_limit_for(content_type, json_max=self.json_max, other_max=self.other_max)
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared and (not declared.isascii() or not declared.isdigit()):
            await _send_problem(send, 400, "Bad Request", "Content-Length is not a number")
            return
        if declared and int(declared) > limit:
            await _too_large(send, limit)
            return
        # read the (small) body here, counting bytes, then hand it on: nothing past the limit
        # is ever held, and the application never sees a body that broke it
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _too_large(send: Send, limit: int) -> None:
    await _send_problem(
        send,
        413,
        "Payload Too Large",
        f"the request body is larger than the limit of {limit} bytes",
        code="too-large",
        limit=limit,
    )


async def _send_problem(
    send: Send, status: int, title: str, detail: str, *, code: str | None = None, **extra: Any
) -> None:
    body = json.dumps(
        {
            "type": TYPE_BASE + code if code else "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            **extra,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
