"""Who may use the portal: the admin API key, browser sessions, CSRF tokens.

The admin key is made once (``ensure_admin_key``), shown once, and kept only as a
SHA-256 digest in ``<data_dir>/portal.json`` (mode 0600, replaced atomically).
Scripts send it as ``Authorization: Bearer <key>``. A browser signs in with it and
gets a session: a random id in a cookie, remembered in this process's memory only,
with a CSRF token that every change made with the cookie must carry.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from protekt._exceptions import StorageError
from protekt.portal._errors import ApiError, error_response, unauthenticated

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Access",
    "AccessMiddleware",
    "AdminKeys",
    "Gate",
    "Session",
    "Sessions",
    "ensure_admin_key",
    "reset_admin_key",
]

logger = logging.getLogger("protekt.portal")

PORTAL_FILE: Final = "portal.json"
KEY_PREFIX: Final = "protekt_admin_"
KEY_BYTES: Final = 32
SESSION_COOKIE: Final = "protekt_session"
CSRF_HEADER: Final = "X-CSRF-Token"
DEFAULT_SESSION_LIFETIME: Final = timedelta(hours=12)
# Sessions one process remembers; past this, signing in ends the oldest.
MAX_SESSIONS: Final = 1000
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

# Whether a request (method, path) needs no access at all.
PublicTest = Callable[[str, str], bool]


# ---- the admin key on disk -------------------------------------------------------


def ensure_admin_key(data_dir: str | os.PathLike[str]) -> str | None:
    """Makes the portal's admin key if there is none yet, and returns it: the only
    time it can be read, since only its digest is stored. Returns None when a key
    exists already. Safe to call from several processes at once: one makes it."""
    path = _portal_file(data_dir)
    document = _read(path)
    if document is not None and "admin_key" in document:
        return None
    key = _new_key()
    updated = {**(document or {}), "admin_key": _record(key)}
    stored = _write(path, updated, replace=document is not None)
    return key if stored else None


def reset_admin_key(data_dir: str | os.PathLike[str]) -> str:
    """Replaces the admin key, for an operator who lost it, and returns the new one.
    The old key stops working at once, and so do the sessions signed in with it."""
    path = _portal_file(data_dir)
    try:
        document = _read(path) or {}
    except StorageError:
        document = {}  # a damaged file is what a reset is for
    key = _new_key()
    _write(path, {**document, "admin_key": _record(key)}, replace=True)
    logger.warning("the portal's admin key was replaced")
    return key


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def _digest(key: str) -> str:
    # A plain hash suffices: the key is 32 random bytes, so there is nothing to
    # guess that a slow, salted hash would protect.
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _record(key: str) -> dict[str, str]:
    return {
        "algorithm": "sha256",
        "digest": _digest(key),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _portal_file(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / PORTAL_FILE


def _read(path: Path) -> dict[str, Any] | None:
    """The stored document; None when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"could not read {path}: {exc}") from exc
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise StorageError(
            f"{path} is damaged; protekt.portal.reset_admin_key writes a new one"
        )
    return document


def _write(path: Path, document: Mapping[str, Any], *, replace: bool) -> bool:
    """Writes the whole file at once, readable by its owner only. Without
    ``replace``, writes only if no file exists, and returns False if one did."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".portal-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StorageError(f"could not write {path}: {exc}") from exc
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())

        # A hard link creates the name only if it is free, and only once the
        # content is complete; a rename replaces it just as completely.
        if replace:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)
            except FileExistsError:
                return False
        _sync_directory(path.parent)
        return True
    except OSError as exc:
        raise StorageError(f"could not write {path}: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AdminKeys:
    """Checks presented keys against the stored digest, which it reads again when
    the file changes (a reset by another process). Thread-safe."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self._path = _portal_file(data_dir)
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None  # guarded by _lock
        self._digest: str | None = None  # guarded by _lock

    def digest_for(self, key: str) -> str | None:
        """The stored digest if ``key`` is the admin key, else None."""
        stored = self.current()
        if stored is None:
            return None
        return stored if hmac.compare_digest(_digest(key), stored) else None

    def current(self) -> str | None:
        """The stored digest; None while no key is stored."""
        try:
            info = os.stat(self._path)
        except OSError:
            return None
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        with self._lock:
            if signature != self._seen:
                self._digest = self._load()
                self._seen = signature
            return self._digest

    def _load(self) -> str | None:
        try:
            record = (_read(self._path) or {}).get("admin_key")
        except StorageError as exc:
            logger.error("no admin key can be checked: %s", exc)
            return None
        digest = record.get("digest") if isinstance(record, dict) else None
        return digest if isinstance(digest, str) else None


# ---- sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A signed-in browser. ``key_digest`` ties it to the key it signed in with."""

    id: str = field(repr=False)
    csrf_token: str = field(repr=False)
    key_digest: str = field(repr=False)
    expires_at: datetime


class Sessions:
    """The sessions of this process, in memory; they end with it. Thread-safe."""

    def __init__(self, lifetime: timedelta = DEFAULT_SESSION_LIFETIME) -> None:
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._open: dict[str, Session] = {}  # guarded by _lock

    def open(self, key_digest: str) -> Session:
        now = datetime.now(UTC)
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            key_digest=key_digest,
            expires_at=now + self.lifetime,
        )
        with self._lock:
            self._prune(now)
            if len(self._open) >= MAX_SESSIONS:
                oldest = min(self._open.values(), key=lambda s: s.expires_at)
                del self._open[oldest.id]
            self._open[session.id] = session
        return session

    def find(self, session_id: str) -> Session | None:
        """The session, if it exists and has not expired."""
        with self._lock:
            session = self._open.get(session_id)
            if session is not None and session.expires_at <= datetime.now(UTC):
                del self._open[session_id]
                return None
            return session

    def close(self, session_id: str) -> None:
        with self._lock:
            self._open.pop(session_id, None)

    def _prune(self, now: datetime) -> None:
        expired = [s.id for s in self._open.values() if s.expires_at <= now]
        for session_id in expired:
            del self._open[session_id]


# ---- deciding on a request ---------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Why a request was let in: a session, or the admin key itself (None)."""

    session: Session | None


class Gate:
    """Lets a request in with the admin key or a live session, and a cookie
    request that changes something only with its session's CSRF token."""

    def __init__(self, keys: AdminKeys, sessions: Sessions) -> None:
        self.keys = keys
        self.sessions = sessions

    def sign_in(self, key: str, client: str) -> Session:
        digest = self.keys.digest_for(key)
        if digest is None:
            logger.warning("refused a sign-in with a wrong admin key from %s", client)
            raise unauthenticated("the admin key is wrong")
        logger.info("signed in a browser from %s", client)
        return self.sessions.open(digest)

    def check(
        self,
        method: str,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        client: str,
    ) -> Access:
        authorization = headers.get("authorization")
        if authorization is not None:
            self._check_key(authorization, client)
            return Access(None)
        session = self._session(cookies.get(SESSION_COOKIE))
        if method.upper() not in SAFE_METHODS:
            presented = headers.get(CSRF_HEADER.lower(), "").encode()
            if not hmac.compare_digest(presented, session.csrf_token.encode()):
                raise ApiError(
                    403,
                    f"a change made with the session cookie needs the {CSRF_HEADER} "
                    "header that signing in answered",
                )
        return Access(session)

    def _check_key(self, authorization: str, client: str) -> None:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise unauthenticated("send the admin key as Authorization: Bearer <key>")
        if self.keys.digest_for(key.strip()) is None:
            logger.warning("refused a request with a wrong admin key from %s", client)
            raise unauthenticated("the admin key is wrong")

    def _session(self, session_id: str | None) -> Session:
        if not session_id:
            raise unauthenticated(
                "sign in (POST /api/v1/session) or send Authorization: Bearer <key>"
            )
        session = self.sessions.find(session_id)
        if session is None:
            raise unauthenticated("the session ended; sign in again")

        # A replaced admin key ends every session signed in with the old one.
        current = self.keys.current()
        if current is None or not hmac.compare_digest(current, session.key_digest):
            self.sessions.close(session.id)
            raise unauthenticated("the admin key changed; sign in again")
        return session


class AccessMiddleware:
    """Runs the gate before any routing or body parsing, so that a request without
    access learns nothing but 401 (or 403), whatever it asked for. Requests for
    which ``public(method, path)`` holds pass untouched. The access granted is put
    in the request's state as ``access``."""

    def __init__(self, app: ASGIApp, *, gate: Gate, public: PublicTest) -> None:
        self.app = app
        self.gate = gate
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        client = request.client.host if request.client else "an unknown address"
        try:
            access = self.gate.check(
                request.method, request.headers, request.cookies, client
            )
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["access"] = access
        await self.app(scope, receive, send)
