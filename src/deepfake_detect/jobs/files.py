"""Uploads of jobs, in DATA_DIR/uploads/<job id>: written and fsynced before the job row exists, deleted
when the job ends (or, with keep_upload, when it is deleted or purged).

A crash can leave a file with no job (between the rename and the insert) or a finished job's file
(between the result and the unlink); `sweep` removes both, after a grace period for uploads that
another server is still registering.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from fastapi import UploadFile
from fastapi.concurrency import run_in_threadpool

from ..errors import MediaTooLarge

CHUNK = 1 << 20


class UploadStore:
    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "uploads"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, job_id: str) -> Path:
        if not job_id.isalnum():  # ids are hex; never let one name another path
            raise ValueError(f"not a job id: {job_id!r}")
        return self.root / job_id

    async def save(self, upload: UploadFile, job_id: str, max_bytes: int) -> tuple[int, str]:
        """Copy the upload to its final name (via a .part file, fsynced); returns its size and SHA-256.
        413 past `max_bytes`. Runs in a thread: Starlette has spooled the upload already, and fsync blocks."""
        return await run_in_threadpool(self._copy, upload.file, job_id, max_bytes)

    def _copy(self, source: BinaryIO, job_id: str, max_bytes: int) -> tuple[int, str]:
        final = self.path(job_id)
        part = final.with_suffix(".part")
        written = 0
        digest = hashlib.sha256()
        try:
            source.seek(0)
            with open(part, "wb") as out:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise MediaTooLarge(f"upload exceeds the limit of {max_bytes / 2**20:.1f} MiB")
                    out.write(chunk)
                    digest.update(chunk)
                out.flush()
                os.fsync(out.fileno())
            part.replace(final)
            self._sync_dir()
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return written, digest.hexdigest()

    @staticmethod
    async def sha256(upload: UploadFile) -> str:
        """The SHA-256 of an upload that is not stored (a replayed Idempotency-Key's)."""

        def digest() -> str:
            upload.file.seek(0)
            sha = hashlib.sha256()
            while chunk := upload.file.read(CHUNK):
                sha.update(chunk)
            return sha.hexdigest()

        return await run_in_threadpool(digest)

    def _sync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def delete(self, job_id: str) -> None:
        self.path(job_id).unlink(missing_ok=True)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir())

    def sweep(self, still_needed: Callable[[list[str]], set[str]], grace_s: float = 900) -> list[str]:
        """Delete files no job needs any more. Files younger than `grace_s` are left alone: an upload
        being received, or one whose job row is being inserted. Returns the names removed."""
        cutoff = time.time() - grace_s
        old = []
        for path in self.root.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    old.append(path)
            except FileNotFoundError:
                continue
        keep = still_needed([p.name for p in old if p.name.isalnum()])
        removed = [p for p in old if p.name not in keep]
        for path in removed:
            path.unlink(missing_ok=True)
        return [p.name for p in removed]
