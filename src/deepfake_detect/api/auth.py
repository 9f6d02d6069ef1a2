"""API keys and per-key rate limits, as one dependency (`CallerDep`) on every route but the probes.

With no key configured (no API_KEYS_FILE entries, none created with `deepfake-detect keys create`)
every request is served and `/info` says `auth.mode: "open"`. Rate limits use `limits` (moving
window), in memory by default or in Redis (RATE_LIMIT_STORAGE) when several servers share the keys.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection
from starlette.types import Scope

from ..errors import RateLimited, Unauthorized
from ..jobs.keys import Key, KeyRing
from .errors import documented_problem

KEY_COOKIE = "deepfake_api_key"  # set by the web page's key form (/ui/key): HttpOnly, SameSite=Strict
bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`deepfake-detect keys create NAME`); needed only when keys are configured",
)
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: documented_problem("API keys are configured and this request has no valid key"),
    429: documented_problem("This key's rate limit is used up (see Retry-After)", retry_after=True),
}


@dataclass(frozen=True)
class Caller:
    owner: str  # the key's name; "" when the service is open
    key: Key | None


class RateLimiter:
    def __init__(self, storage_uri: str, default: str):
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.default = parse(default)  # a malformed RATE_LIMIT fails at start-up, not per request

    def hit(self, key: Key) -> None:
        item = parse(key.rate_limit) if key.rate_limit else self.default
        if not self.limiter.hit(item, "api-key", key.name):
            reset_at, _ = self.limiter.get_window_stats(item, "api-key", key.name)
            retry = max(1, math.ceil(reset_at - time.time()))
            raise RateLimited(f"rate limit {item} of key {key.name!r} reached; retry in {retry} s", retry)


def key_of(keys: KeyRing | None, token: str | None) -> Key | None:
    """The key a bearer token names; None while the service is open (no keys); 401 otherwise."""
    if keys is None or keys.open:
        return None
    if not token:
        raise Unauthorized("this service needs an API key: send 'Authorization: Bearer <key>'")
    key = keys.authenticate(token)
    if key is None:
        raise Unauthorized("the API key is not valid (unknown or revoked)")
    return key


def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """The caller behind a request; 401 without a valid key (when keys exist), 429 over its rate. The key
    comes from `Authorization: Bearer`, or from the web page's cookie (so its images and video load)."""
    token = credentials.credentials if credentials else request.cookies.get(KEY_COOKIE)
    key = key_of(request.app.state.jobs.keys, token)
    if key is None:
        return Caller(owner="", key=None)
    request.app.state.limiter.hit(key)
    return Caller(owner=key.name, key=key)


async def check_upload_key(scope: Scope) -> None:
    """For UploadGuard: 401 before an upload takes a place or a byte of its body is read, so clients
    without a valid key cannot hold the places of those with one (the route checks again, and counts
    the request against the key's rate)."""
    connection = HTTPConnection(scope)
    scheme, _, token = (connection.headers.get("authorization") or "").partition(" ")
    bearer_token = token.strip() if scheme.lower() == "bearer" else None
    keys = scope["app"].state.jobs.keys
    await run_in_threadpool(key_of, keys, bearer_token or connection.cookies.get(KEY_COOKIE))


CallerDep = Annotated[Caller, Depends(authenticate)]
