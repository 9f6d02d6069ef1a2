"""API keys: from API_KEYS_FILE (TOML) and from the database (`deepfake-detect keys create NAME`).

Keys are 256-bit random tokens, so a plain SHA-256 of the key is what is stored and compared (a slow
password hash buys nothing against a guess space of 2^256, and would cost every request ~100 ms).
Each key has its own webhook signing secret, which the server must be able to read, so it is stored
as is. With no key anywhere the service is open, and /info says so.

API_KEYS_FILE looks like this (either `key` or its `sha256`; the other fields are optional):

    [[keys]]
    name = "newsroom"
    sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    webhook_secret = "whsec_..."
    rate_limit = "60/minute"
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidRequest
from .schema import ApiKey, utcnow
from .store import JobStore

KEY_PREFIX = "dfd_"
_DB_CACHE_S = 2.0  # keys created or revoked from the CLI take effect within this long


@dataclass(frozen=True)
class Key:
    name: str
    sha256: str
    webhook_secret: str | None
    rate_limit: str | None
    source: str  # "file" or "database"


def check_key_name(name: str) -> None:
    """A key's name is its owner: the label on its jobs, logs and rate limit. One to 64 printable
    characters, no space at either end. Why: "" is the owner of jobs made while the service was open,
    so a key named "" would see them all; a name with a newline would forge lines in the logs."""
    if (
        not isinstance(name, str)
        or not name.isprintable()
        or name != name.strip()
        or not 1 <= len(name) <= 64
    ):
        raise ValueError(
            f"a key name must be 1-64 printable characters without space at either end, got {name!r}"
        )


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_key_file(path: Path) -> list[Key]:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    keys = []
    for i, entry in enumerate(data.get("keys", [])):
        name = entry.get("name")
        digest = entry.get("sha256") or (hash_key(entry["key"]) if entry.get("key") else None)
        if not name or not digest:
            raise ValueError(f"{path}: keys[{i}] needs a name and a key or sha256")
        try:
            check_key_name(name)
        except ValueError as e:
            raise ValueError(f"{path}: keys[{i}]: {e}") from None
        keys.append(Key(name, digest.lower(), entry.get("webhook_secret"), entry.get("rate_limit"), "file"))
    return keys


class KeyRing:
    def __init__(self, store: JobStore, key_file: Path | None = None):
        self.store = store
        self.file_keys = load_key_file(key_file) if key_file else []
        self._db_keys: list[Key] = []
        self._db_loaded_at = -1e9

    def _database_keys(self) -> list[Key]:
        if time.monotonic() - self._db_loaded_at > _DB_CACHE_S:
            with self.store.session() as s:
                rows = s.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))
                self._db_keys = [
                    Key(r.name, r.key_sha256, r.webhook_secret, r.rate_limit, "database") for r in rows
                ]
            self._db_loaded_at = time.monotonic()
        return self._db_keys

    def keys(self) -> list[Key]:
        return self.file_keys + self._database_keys()

    @property
    def open(self) -> bool:
        """True when no key is configured: every request is served, as the seed's API was."""
        return not self.keys()

    def authenticate(self, token: str) -> Key | None:
        digest = hash_key(token)
        for key in self.keys():
            if hmac.compare_digest(key.sha256, digest):
                return key
        return None

    def webhook_secret(self, owner: str) -> str | None:
        for key in self.keys():
            if key.name == owner:
                return key.webhook_secret
        return None

    def create(self, name: str, rate_limit: str | None = None) -> tuple[str, str]:
        """A new key in the database; returns (key, webhook secret), shown once."""
        try:
            check_key_name(name)
        except ValueError as e:
            raise InvalidRequest(str(e)) from None
        if any(k.name == name for k in self.file_keys):
            raise InvalidRequest(f"a key named {name!r} exists in API_KEYS_FILE")
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        secret = "whsec_" + secrets.token_urlsafe(32)
        row = ApiKey(
            name=name,
            key_sha256=hash_key(token),
            webhook_secret=secret,
            rate_limit=rate_limit,
            created_at=utcnow(),
        )
        try:
            with self.store.session.begin() as s:
                s.add(row)
        except IntegrityError as e:
            raise InvalidRequest(f"a key named {name!r} already exists") from e
        self._db_loaded_at = -1e9
        return token, secret

    def revoke(self, name: str) -> bool:
        with self.store.session.begin() as s:
            statement = update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
            done = s.execute(statement.values(revoked_at=utcnow())).rowcount == 1
        self._db_loaded_at = -1e9
        return done

    def listing(self) -> list[dict]:
        with self.store.session() as s:
            rows = list(s.scalars(select(ApiKey).order_by(ApiKey.created_at)))
        listed = [{"name": k.name, "source": "file", "rate_limit": k.rate_limit} for k in self.file_keys]
        return listed + [
            {
                "name": r.name,
                "source": "database",
                "rate_limit": r.rate_limit,
                "created_at": r.created_at.isoformat(),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in rows
        ]
