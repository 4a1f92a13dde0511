"""Whether a candidate value is a secret, or a name, path, placeholder, number or word instead."""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any

from claudetracing.redaction.keys import is_upper, secret_key_family
from claudetracing.redaction.markers import MARKER_PREFIX

__all__ = [
    "BARE_WORD",
    "MAX_VALUE",
    "assigned_secret",
    "field_secret",
    "machine_like",
    "name_value_secret",
    "names_a_secret",
    "unlike_secret",
]

# Values that are placeholders, literals or words, never credentials (compared lower-cased).
# fmt: off
_NOT_SECRETS = frozenset({
    "none", "null", "nil", "undefined", "true", "false", "yes", "no", "on", "off", "n/a", "na",
    "tbd", "todo", "fixme", "required", "optional", "hidden", "masked", "redacted", "secret",
    "secrets", "password", "passwords", "passwd", "pass", "token", "tokens", "apikey", "api_key",
    "api-key", "key", "changeme", "change_me", "change-me", "changeit", "placeholder", "example",
    "sample", "dummy", "basic", "bearer", "digest", "oauth", "oauth2", "ntlm", "negotiate", "jwt",
    "env", "environment", "default", "auto", "inherit", "empty", "unset", "unknown", "any", "str",
    "string", "bytes", "int", "integer", "bool", "boolean", "text", "varchar", "char", "number",
    "object", "secretstr", "secretbytes", "self", "this", "value",
})
# fmt: on
# Lower-case type names after `key:` (annotations in Python/TypeScript, not YAML values).
_TYPE_NAMES = frozenset(
    ["str", "string", "bytes", "int", "bool", "float", "any", "unknown", "object", "number"]
)
_PLACEHOLDER = re.compile(
    r"""
      [$%].*                            # $VAR ${VAR} $(cmd) %VAR% %(name)s
    | .*(?:\{\{|\}\}|\$\{)              # templates: {{ secrets.X }}, ${VAR}
    | \{[\w.\[\]'"-]*\}                 # {token}, {config.password}
    | <[^<>]*>                          # <your-token>, <password>
    | [xX*.#•_-]{3,}                    # xxxx, ****
    | (?i:your|my)[_-].*                # your_api_key, my-secret
    | (?i:.*(?:placeholder|changeme|replace[_-]?me|example|dummy|redacted|[_-]here))
    | [A-Z][A-Z_]*                      # API_KEY, PASSWORD: a name, not a value
    | [:@][A-Za-z_]\w*                  # SQL bind parameters, variables: :password, @token
    """,
    re.VERBOSE,
)
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?[kKmMgG]?[bB]?")
BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z_.-]*")  # names and words: no digit, no symbol
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")  # os.environ, self.token
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w.@-]*(?:/[\w.@-]*)*|[A-Za-z]:\\[^\s:*?\"<>|]*")
_PATH_PARTS = re.compile(r"[/\\]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTISH = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_SNAKE = re.compile(r"_*[a-z][a-z0-9]*(?:_+[a-z0-9]+)+_*|_*[A-Z][A-Z0-9]*(?:_+[A-Z0-9]+)+_*")
_NAME_PARTS = re.compile(r"[_.-]+")
_WORD_DIGITS = re.compile(r"[A-Za-z]+[0-9]+")
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred")
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "bot"})


def _looks_like_path(value: str) -> bool:
    """/run/secrets/token, ./certs/key.pem, C:\\keys: not a base64 secret that starts with /."""
    if not _PATH.fullmatch(value):
        return False
    return not any(
        len(part) >= 20 and _has_upper_lower_digit(part) for part in _PATH_PARTS.split(value)
    )


def _has_upper_lower_digit(value: str) -> bool:
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


# Candidates repeat (the same .env printed twice, the same key in every record): the value
# checks are cached, which also keeps dense repetitive input cheap.
_cached = functools.lru_cache(maxsize=4096)
# A longer run of characters is a blob (base64 data, minified code), not a credential.
MAX_VALUE = 4096


@_cached
def unlike_secret(value: str, *, numbers: bool = False) -> bool:
    """True when `value` is obviously not a credential, whatever key it sits under.

    Numbers (counts, sizes, ports, ids) are not secrets unless `numbers` says they can be.
    """
    if not value or value.startswith(MARKER_PREFIX) or not any(c.isalnum() for c in value):
        return True
    if value.lower() in _NOT_SECRETS or "://" in value or "..." in value or "…" in value:
        return True  # literals, URLs, masked or shortened values (sk-ant-...f3a9)
    if not numbers and _NUMBER.fullmatch(value):
        return True
    return bool(_PLACEHOLDER.fullmatch(value)) or _looks_like_path(value)


def _label(value: str) -> bool:
    """A capitalised word (`Contraseña`, `Passwort`): a UI label, not a password."""
    return value.isalpha() and value[0].isupper() and value[1:].islower()


def machine_like(value: str) -> bool:
    """Looks generated: 8+ characters with both letters and digits (tokens, keys, hashes)."""
    return len(value) >= 8 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _char_class(c: str) -> int:
    return 0 if c.islower() else 1 if c.isupper() else 2


def _wordy(part: str) -> bool:
    """A word, camelCase or word+digits (`challengePassword`, `imdsv2`), not random characters."""
    changes = sum(_char_class(a) != _char_class(b) for a, b in itertools.pairwise(part))
    return changes <= max(2, len(part) // 2)


@_cached
def names_a_secret(value: str) -> bool:
    """`"client_secret"`, `"challengePassword"`, `imdsv2_session_token`: the name of a secret
    (a key, a field, a variable), not its value."""
    if not _IDENTISH.fullmatch(value):
        return False
    low = value.lower()
    if not any(word in low for word in _SECRET_WORDS):
        return False
    parts = [p for p in _NAME_PARTS.split(value) if p]
    if len(parts) == 1 and _WORD_DIGITS.fullmatch(value):
        return False  # token1234, password1: a (weak) value
    return all(_wordy(p) for p in parts)


@_cached
def assigned_secret(
    value: str,
    *,
    family: str,
    key: str,
    quoted: bool,
    sep: str = "=",
    pre: bool = False,
    post: bool = False,
    after: str = "",
) -> bool:
    """Whether `value`, assigned to the secret-looking `key`, is a secret to redact.

    `family`: what the key names ('password', 'token' or 'auth'). `quoted`: the value was a
    string literal. `sep`: '=', ':=', ':' or ' ' (a command-line flag); `pre`/`post`: spaces
    before/after it. `after`: the character right after an unquoted value.
    """
    if len(value) > MAX_VALUE or unlike_secret(value) or names_a_secret(value):
        return False
    if not quoted and ((after and after in "([") or _DOTTED.fullmatch(value)):
        return False  # get_token(), os.environ[...], settings.SECRET_KEY: code
    if family == "auth":
        return machine_like(value)  # auth=basic, MLFLOW_TRACKING_AUTH=kubernetes: methods
    if quoted:
        # A string literal is data, never code: any password (but not a label such as
        # "Passwort" or "Contraseña" in a translation file); a token-like token.
        if family == "password":
            return not _label(value)
        return machine_like(value)
    upper = is_upper(key)
    if sep == ":":
        if not post:
            return False  # arn:aws:secretsmanager:...:secret:name, Pass :meth: (YAML has a space)
        if _IDENT.fullmatch(value) and (
            value in _TYPE_NAMES or ((value[0].isupper() or value[0] == "_") and _wordy(value))
        ):
            return False  # annotations: password: SecretStr, token: Base64Str, KEY: _Literal
        if upper and value.isalpha() and value.islower():
            return True  # YAML environment: POSTGRES_PASSWORD: postgres
    elif upper and sep in ("=", ":=") and not pre and not post:
        return True  # .env, shell, Dockerfile: DB_PASSWORD=postgres
    if _SNAKE.fullmatch(value):
        return False  # a variable: secret_key = s3_connection
    if family == "password":
        return not BARE_WORD.fullmatch(value)  # password=hunter2, not password=password
    return machine_like(value)  # token=a1b2c3d4e5, not token=TokenType


def field_secret(key: str, value: str) -> bool:
    """A string value under the mapping key `key` that is itself a secret."""
    if len(value) > MAX_VALUE:
        return False  # a document, not a credential: its own secrets are found as text
    family = secret_key_family(key)
    if family is None or value.startswith(MARKER_PREFIX):
        return False
    stripped = value.strip()
    if family == "password" and len(stripped) <= 200 and "\n" not in stripped:
        # The whole value of a password field, even a passphrase with spaces.
        return not (unlike_secret(stripped) or names_a_secret(stripped) or _label(stripped))
    if any(c.isspace() for c in stripped):
        # `{"Authorization": "Basic dXNlcjpwYXNz"}`: the credentials after the scheme.
        scheme, _, credentials = stripped.partition(" ")
        if scheme.lower() in _AUTH_SCHEMES and credentials and " " not in credentials:
            return not unlike_secret(credentials)
        return False  # text (a message, a command): its own secrets are found as text
    return _stored_secret(stripped, family=family, key=key)


def name_value_secret(mapping: dict[Any, Any]) -> bool:
    """``{"name": "DB_PASSWORD", "value": "..."}`` (Kubernetes, ECS, Terraform env lists)."""
    name, value = mapping.get("name"), mapping.get("value")
    if not isinstance(name, str) or not isinstance(value, str) or len(value) > MAX_VALUE:
        return False
    family = secret_key_family(name)
    if family is None:
        return False
    return _stored_secret(value, family=family, key=name)


def _stored_secret(value: str, *, family: str, key: str) -> bool:
    """A value stored as data under the secret-looking `key` (a field, an env entry)."""
    if is_upper(key) and family != "auth":
        # An environment entry ({"env": {"GITHUB_TOKEN": "..."}}): any real value.
        return not unlike_secret(value) and not names_a_secret(value)
    return assigned_secret(value, family=family, key=key, quoted=True)
