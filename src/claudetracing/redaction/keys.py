"""Which keys, variable names, flags and tags name a secret, and which kind of secret."""

from __future__ import annotations

import functools
import re

__all__ = [
    "KEYWORD",
    "KEY_BYTES",
    "KEY_END",
    "SEPARATORS",
    "is_upper",
    "key_family",
    "secret_key_family",
]

# `password`, `DB_PASS`, `clientSecret`, `GITHUB_TOKEN`, `x-api-key`, ...
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
KEY_BYTES = frozenset(ord(c) for c in _KEY_CHARS)
SEPARATORS = "_.-"
_PASSWORD_WORDS = frozenset({"password", "passwd", "passphrase", "pass", "pwd"})
# `...key` is a secret only after one of these words: api_key, secretKey, AccessKey, APP_KEY.
_KEY_OWNERS = (
    "api",
    "access",
    "private",
    "secret",
    "signing",
    "master",
    "encryption",
    "account",
    "client",
    "auth",
    "service",
    "subscription",
    "consumer",
    "shared",
    "storage",
    "license",
    "app",
    "admin",
    "webhook",
)
KEYWORD = r"(?P<kw>pass(?:word|wd|phrase)?|pwd|secret|token|key|auth(?:orization)?)"
KEY_END = re.compile(KEYWORD + r"\Z", re.IGNORECASE)

# The same keys come back in every record: the checks are cached.
_cached = functools.lru_cache(maxsize=4096)


@_cached
def key_family(key: str, kw_start: int) -> str | None:
    """The kind of secret `key` names ('password', 'token', 'auth'), or None.

    `kw_start`: where the keyword (password, secret, token, key, auth, ...) starts in `key`.
    """
    kw = key[kw_start:].lower()
    prefix = key[:kw_start]
    if kw in ("pass", "pwd", "auth"):
        # A word of its own: DB_PASS, dbPass, MYSQL_PWD, _auth, basic_auth (not bypass, oauth).
        if prefix and prefix[-1] not in SEPARATORS:
            camel = key[kw_start].isupper() and (prefix[-1].islower() or prefix[-1].isdigit())
            if not camel:
                return None
    elif kw == "key":
        owner = prefix.rstrip(SEPARATORS).lower()
        if not owner.endswith(_KEY_OWNERS):
            return None
    if kw in _PASSWORD_WORDS:
        return "password"
    return "auth" if kw.startswith("auth") else "token"


def secret_key_family(key: str) -> str | None:
    """'password', 'token' or 'auth' when a mapping key or variable name names a secret."""
    return None if len(key) > 128 else _secret_key_family(key)


@_cached
def _secret_key_family(key: str) -> str | None:
    m = KEY_END.search(key)
    if m is None or not all(c in _KEY_CHARS for c in key[: m.start()]):
        return None
    return key_family(key, m.start())


def is_upper(key: str) -> bool:
    """All capitals (DB_PASSWORD, GITHUB_TOKEN): the name of an environment variable."""
    return key.upper() == key and any(c.isalpha() for c in key)
