"""Uploads: a request-size guard, and streaming each uploaded file to a private temporary file.

The client's filename is only ever shown back to it (sanitised); it is never part of a path.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import HTTPException, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import MediaTooLarge

CHUNK = 1 << 20
_MULTIPART_OVERHEAD = 1 << 20  # headers and boundaries around the files


def display_name(filename: str | None) -> str:
    """A safe label for the client's filename: basename only, no control characters, bounded."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:255] or "upload"


def prepare_upload_dir(directory: Path | None) -> Path:
    """UPLOAD_DIR made if missing and checked writable, at start-up (a named folder that was not there
    answered every upload with a 500); the system's temporary folder when unset. OSError if unusable."""
    if directory is None:
        return Path(tempfile.gettempdir())
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
        pass
    return directory


@asynccontextmanager
async def saved_upload(
    upload: UploadFile, max_bytes: int, directory: Path | None = None
) -> AsyncIterator[Path]:
    """Copy an upload in chunks to a temporary file (deleted afterwards); 413 past `max_bytes`.

    The name has no extension: FFmpeg guesses some formats by extension (".bin" is its "binary
    text" demuxer, which renders any bytes as video); containers are identified by content only."""
    fd, name = tempfile.mkstemp(prefix="deepfake-upload-", dir=directory)
    path = Path(name)
    try:
        written = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise MediaTooLarge(f"upload exceeds the limit of {max_bytes / 2**20:.1f} MiB")
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over a per-path limit before they are parsed.

    Checks Content-Length up front, and counts bytes as they arrive for chunked uploads.
    """

    def __init__(self, app: ASGIApp, limits: dict[str, int]):
        self.app = app
        self.limits = limits  # path -> max bytes of file content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.get(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        limit += _MULTIPART_OVERHEAD
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"request body exceeds {limit / 2**20:.1f} MiB")
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        from .errors import problem

        detail = f"request body exceeds {limit / 2**20:.1f} MiB"
        response = problem(413, MediaTooLarge.title, detail, MediaTooLarge.slug, scope.get("path", ""))
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
