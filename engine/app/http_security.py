"""Who may call the HTTP service, and from where: tokens and the Host allow-list.

``Access`` is what ``decide serve`` configures and ``Service`` checks on every request:

- ``admin_token``: the bearer token of the admin endpoints (``POST /reload``).  With
  none configured they are off (403), never open.
- ``tokens``: bearer tokens of the decision endpoints; none configured = open.
- ``allowed_hosts``: the host names a request's ``Host`` header may name (the port is
  ignored); ``None`` = any.  ``decide serve`` bound to a loopback address allows only
  the loopback names by default, which stops DNS rebinding from a web page.

Tokens are compared in constant time (``hmac.compare_digest``), every configured one
each time.  Tokens come from a file (its first line) or an environment variable.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass

ADMIN_ENV = "DECIDE_ADMIN_TOKEN"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MIN_TOKEN = 16  # characters: shorter tokens are refused at start-up


class TokenError(ValueError):
    """A token file or variable that cannot be used (the message says why)."""


def read_token(path: str) -> str:
    """The token in the file ``path``: its first line, stripped."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise TokenError(f"cannot read the token file {path}: {getattr(e, 'strerror', None) or e}") from None
    return _checked(token, f"the token file {path}")


def read_tokens(path: str) -> tuple[str, ...]:
    """The tokens in the file ``path``, one a line (blank lines and # comments skipped)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [ln.strip() for ln in f]
    except (OSError, UnicodeDecodeError) as e:
        raise TokenError(f"cannot read the token file {path}: {getattr(e, 'strerror', None) or e}") from None
    tokens = tuple(_checked(t, f"the token file {path}") for t in lines if t and not t.startswith("#"))
    if not tokens:
        raise TokenError(f"the token file {path} holds no token")
    return tokens


def admin_token(path: str | None, environ=os.environ) -> str | None:
    """The admin token: from ``path`` when given, else ``$DECIDE_ADMIN_TOKEN``, else None."""
    if path:
        return read_token(path)
    value = environ.get(ADMIN_ENV, "").strip()
    return _checked(value, f"${ADMIN_ENV}") if value else None


def _checked(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN:
        raise TokenError(f"{where}: a token has at least {MIN_TOKEN} characters")
    if any(c.isspace() or not c.isprintable() for c in token) or not token.isascii():
        raise TokenError(f"{where}: a token is printable ASCII without spaces")
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_hosts(bind_host: str) -> tuple[str, ...] | None:
    """The Host allow-list by default: the loopback names when bound to loopback."""
    return LOOPBACK_NAMES if is_loopback(bind_host) else None


def host_name(header: str) -> str:
    """``Host`` header → the name without the port (``[::1]:8080`` → ``::1``), lower case."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def _bearer(environ) -> bytes:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = auth.partition(" ")
    return value.strip().encode("latin-1", "replace") if scheme.lower() == "bearer" else b""


def _matches(given: bytes, tokens: tuple[bytes, ...]) -> bool:
    ok = False
    for t in tokens:  # every token compared, each in constant time
        ok |= hmac.compare_digest(given, t)
    return ok and bool(given)


@dataclass(frozen=True)
class Access:
    admin_token: str | None = None
    tokens: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "_admin", (self.admin_token.encode(),) if self.admin_token else ())
        object.__setattr__(self, "_tokens", tuple(t.encode() for t in self.tokens))
        hosts = None if self.allowed_hosts is None else frozenset(h.lower().strip("[]") for h in self.allowed_hosts)
        object.__setattr__(self, "_hosts", hosts)
        object.__setattr__(self, "_allowed", {})  # Host headers seen allowed, as sent (a few: bounded)

    def host_refused(self, environ) -> str | None:
        """Why the request's Host is refused, or None."""
        if self._hosts is None:
            return None
        header = environ.get("HTTP_HOST", "")
        if header in self._allowed:
            return None
        if host_name(header) in self._hosts:
            if len(self._allowed) < 64:
                self._allowed[header] = True
            return None
        return "this host name is not served here (Host header not allowed: start decide serve with --allowed-host)"

    def admin(self, environ) -> tuple[int, str] | None:
        """(status, message) when the admin request is refused, or None."""
        if not self._admin:
            return 403, ("admin endpoints are off: start decide serve with --admin-token-file FILE "
                         f"or ${ADMIN_ENV} to use them")
        if not _matches(_bearer(environ), self._admin):
            return 401, "an admin request needs the header Authorization: Bearer <admin token>"
        return None

    def client(self, environ) -> tuple[int, str] | None:
        """(status, message) when a decision request is refused, or None."""
        if not self._tokens:
            return None
        if not _matches(_bearer(environ), self._tokens + self._admin):
            return 401, "this service needs the header Authorization: Bearer <token>"
        return None
