"""Remove secrets from text and structured data before anything leaves the machine.

Every finding is replaced by a visible marker, ``[REDACTED:<rule name>]``, that keeps no part of
the secret. The built-in rules run on the UTF-8 bytes of the text, and the case-insensitive ones
on its ASCII-lowered copy (same offsets), so every regex can start with a literal that ``re``
jumps between. Every regex runs in linear time: each repetition is a single character class (or
disjoint single-character branches) followed by something that class cannot match, so a failed
attempt never re-splits what it consumed; judgement (is this value a secret?) is Python code run
on the few candidates. All rules report spans; the spans are merged once and the text is rebuilt
once, so one secret found by two rules counts once and markers are never matched again
(redacting twice changes nothing). See ``docs/redaction.md``.
"""

from __future__ import annotations

import binascii
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claudetracing.core.errors import TracesError

__all__ = [
    "CUSTOM_RULE_NAME",
    "DEFAULT_RULES",
    "FIELD_RULE_NAME",
    "RedactionPatternError",
    "Redactor",
    "Rule",
    "marker",
    "secret_key_family",
]

CUSTOM_RULE_NAME = "custom"  # the name of every team-provided pattern
FIELD_RULE_NAME = "secret-field"  # a whole value under a secret-looking key in structured data
_MARKER_PREFIX = "[REDACTED:"
_MARKER = re.compile(r"\[REDACTED:[A-Za-z0-9_.-]*\]")

Span = tuple[int, int]


def marker(name: str) -> str:
    """The text that replaces a secret found by the rule `name`."""
    return f"{_MARKER_PREFIX}{name}]"


class RedactionPatternError(TracesError, ValueError):
    """A team-provided redaction pattern that is not a valid regular expression."""

    def __init__(self, pattern: object, error: str) -> None:
        super().__init__(
            f"invalid redaction pattern {pattern!r}: {error}",
            hint="fix or remove it in the repository's redaction patterns",
        )
        self.pattern = pattern
        self.error = error


@dataclass(frozen=True)
class Rule:
    """A named pattern; when `group` is set only that group is replaced, else the whole match."""

    name: str
    pattern: re.Pattern[str]
    group: int | str | None = None

    def spans(self, text: str) -> Iterator[Span]:
        """The (start, end) of every non-empty piece of `text` this rule redacts."""
        group = self.group
        for m in self.pattern.finditer(text):
            start, end = m.span() if group is None else m.span(group)
            if start < end:
                yield start, end


# =============================================================================================
# What is not a secret (checks on candidate values, as str)

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
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z_.-]*")  # names and words: no digit, no symbol
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")  # os.environ, self.token
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w.@-]*(?:/[\w.@-]*)*|[A-Za-z]:\\[^\s:*?\"<>|]*")
_PATH_PARTS = re.compile(r"[/\\]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTISH = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_SNAKE = re.compile(r"_*[a-z][a-z0-9]*(?:_+[a-z0-9]+)+_*|_*[A-Z][A-Z0-9]*(?:_+[A-Z0-9]+)+_*")
_NAME_PARTS = re.compile(r"[_.-]+")
_WORD_DIGITS = re.compile(r"[A-Za-z]+[0-9]+")
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred")


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
_MAX_VALUE = 4096


@_cached
def _unlike_secret(value: str, *, numbers: bool = False) -> bool:
    """True when `value` is obviously not a credential, whatever key it sits under.

    Numbers (counts, sizes, ports, ids) are not secrets unless `numbers` says they can be.
    """
    if not value or value.startswith(_MARKER_PREFIX) or not any(c.isalnum() for c in value):
        return True
    if value.lower() in _NOT_SECRETS or "://" in value or "..." in value or "…" in value:
        return True  # literals, URLs, masked or shortened values (sk-ant-...f3a9)
    if not numbers and _NUMBER.fullmatch(value):
        return True
    return bool(_PLACEHOLDER.fullmatch(value)) or _looks_like_path(value)


def _label(value: str) -> bool:
    """A capitalised word (`Contraseña`, `Passwort`): a UI label, not a password."""
    return value.isalpha() and value[0].isupper() and value[1:].islower()


def _machine_like(value: str) -> bool:
    """Looks generated: 8+ characters with both letters and digits (tokens, keys, hashes)."""
    return len(value) >= 8 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _char_class(c: str) -> int:
    return 0 if c.islower() else 1 if c.isupper() else 2


def _wordy(part: str) -> bool:
    """A word, camelCase or word+digits (`challengePassword`, `imdsv2`), not random characters."""
    changes = sum(_char_class(a) != _char_class(b) for a, b in itertools.pairwise(part))
    return changes <= max(2, len(part) // 2)


@_cached
def _names_a_secret(value: str) -> bool:
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


# =============================================================================================
# Secret-looking keys: `password`, `DB_PASS`, `clientSecret`, `GITHUB_TOKEN`, `x-api-key`, ...

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_KEY_BYTES = frozenset(ord(c) for c in _KEY_CHARS)
_SEPARATORS = "_.-"
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
_KEYWORD = r"(?P<kw>pass(?:word|wd|phrase)?|pwd|secret|token|key|auth(?:orization)?)"
_KEY_END = re.compile(_KEYWORD + r"\Z", re.IGNORECASE)


@_cached
def _key_family(key: str, kw_start: int) -> str | None:
    """The kind of secret `key` names ('password', 'token', 'auth'), or None.

    `kw_start`: where the keyword (password, secret, token, key, auth, ...) starts in `key`.
    """
    kw = key[kw_start:].lower()
    prefix = key[:kw_start]
    if kw in ("pass", "pwd", "auth"):
        # A word of its own: DB_PASS, dbPass, MYSQL_PWD, _auth, basic_auth (not bypass, oauth).
        if prefix and prefix[-1] not in _SEPARATORS:
            camel = key[kw_start].isupper() and (prefix[-1].islower() or prefix[-1].isdigit())
            if not camel:
                return None
    elif kw == "key":
        owner = prefix.rstrip(_SEPARATORS).lower()
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
    m = _KEY_END.search(key)
    if m is None or not all(c in _KEY_CHARS for c in key[: m.start()]):
        return None
    return _key_family(key, m.start())


def _is_upper(key: str) -> bool:
    return key.upper() == key and any(c.isalpha() for c in key)


@_cached
def _assigned_secret(
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
    if len(value) > _MAX_VALUE or _unlike_secret(value) or _names_a_secret(value):
        return False
    if not quoted and ((after and after in "([") or _DOTTED.fullmatch(value)):
        return False  # get_token(), os.environ[...], settings.SECRET_KEY: code
    if family == "auth":
        return _machine_like(value)  # auth=basic, MLFLOW_TRACKING_AUTH=kubernetes: methods
    if quoted:
        # A string literal is data, never code: any password (but not a label such as
        # "Passwort" or "Contraseña" in a translation file); a token-like token.
        if family == "password":
            return not _label(value)
        return _machine_like(value)
    upper = _is_upper(key)
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
        return not _BARE_WORD.fullmatch(value)  # password=hunter2, not password=password
    return _machine_like(value)  # token=a1b2c3d4e5, not token=TokenType


def _field_secret(key: str, value: str) -> bool:
    """A string value under the mapping key `key` that is itself a secret."""
    if len(value) > _MAX_VALUE:
        return False  # a document, not a credential: its own secrets are found as text
    family = secret_key_family(key)
    if family is None or value.startswith(_MARKER_PREFIX):
        return False
    stripped = value.strip()
    if family == "password" and len(stripped) <= 200 and "\n" not in stripped:
        # The whole value of a password field, even a passphrase with spaces.
        return not (_unlike_secret(stripped) or _names_a_secret(stripped) or _label(stripped))
    if any(c.isspace() for c in stripped):
        # `{"Authorization": "Basic dXNlcjpwYXNz"}`: the credentials after the scheme.
        scheme, _, credentials = stripped.partition(" ")
        if scheme.lower() in _AUTH_SCHEMES and credentials and " " not in credentials:
            return not _unlike_secret(credentials)
        return False  # text (a message, a command): its own secrets are found as text
    if _is_upper(key) and family != "auth":
        # An environment entry ({"env": {"GITHUB_TOKEN": "..."}}): any real value.
        return not _unlike_secret(stripped) and not _names_a_secret(stripped)
    return _assigned_secret(stripped, family=family, key=key, quoted=True)


_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "bot"})


def _name_value_secret(mapping: dict[Any, Any]) -> bool:
    """``{"name": "DB_PASSWORD", "value": "..."}`` (Kubernetes, ECS, Terraform env lists)."""
    name, value = mapping.get("name"), mapping.get("value")
    if not isinstance(name, str) or not isinstance(value, str) or len(value) > _MAX_VALUE:
        return False
    family = secret_key_family(name)
    if family is None:
        return False
    if _is_upper(name) and family != "auth":
        return not _unlike_secret(value) and not _names_a_secret(value)
    return _assigned_secret(value, family=family, key=name, quoted=True)


# =============================================================================================
# The built-in rules' machinery. They match UTF-8 bytes (`data`) or its ASCII-lowered copy
# (`low`, same offsets); their spans are byte offsets.

BSpan = tuple[int, int]
Accept = Callable[[bytes, "re.Match[bytes]"], "BSpan | None"]
Finder = Callable[[bytes, bytes], Iterable[BSpan]]


@dataclass(frozen=True)
class _Builtin(Rule):
    """A default rule (the public view is `name`, `pattern` and `group`).

    `fast`: the regex as bytes; `lower`: run on the lowered bytes (`pattern` carries
    IGNORECASE). `hints`: lower-case byte strings of which one must occur in the lowered text
    for the rule to run; `trigger`: the same condition as a regex (over the lowered text);
    `gate`: check the hints before running the regex (measured: when the regex starts with a
    literal, ``re`` finds it faster than ``bytes.__contains__`` does, so most rules don't).
    `accept`: decides on each match and returns the span to redact. `finder`: replaces the
    regex loop.
    """

    fast: re.Pattern[bytes] | None = None
    lower: bool = False
    hints: tuple[bytes, ...] = ()
    trigger: str = ""
    gate: bool = False
    accept: Accept | None = None
    finder: Finder | None = None

    def spans(self, text: str) -> Iterator[Span]:
        data = text.encode("utf-8", "surrogatepass")
        found = list(self.find(data, data.lower()))
        if found and len(data) != len(text):
            to_char = _char_offsets(data, (o for span in found for o in span))
            found = [(to_char[s], to_char[e]) for s, e in found]
        yield from found

    def find(self, data: bytes, low: bytes) -> Iterable[BSpan]:
        """Byte spans in `data` (UTF-8); `low` is `data.lower()`."""
        if self.finder is not None:
            return self.finder(data, low)
        return self._scan(data, low)

    def _scan(self, data: bytes, low: bytes) -> Iterator[BSpan]:
        assert self.fast is not None
        accept, group = self.accept, self.group
        for m in self.fast.finditer(low if self.lower else data):
            if accept is not None:
                span = accept(data, m)
                if span is None:
                    continue
                start, end = span
            else:
                start, end = m.span() if group is None else m.span(group)
            if start < end:
                yield start, end


def _lit(literal: str, before: str = "A-Za-z0-9") -> str:
    """`literal`, not preceded by a character of the class `before`.

    The look-behind comes after the literal so the regex still starts with the literal, which
    lets ``re`` jump from one occurrence to the next instead of trying every position.
    """
    lit = re.escape(literal)
    return f"{lit}(?<![{before}]{lit})"


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _accept_group(group: str, *, family: str = "token", numbers: bool = False) -> Accept:
    """Redact `group` unless it is obviously not a secret (or, for tokens, not token-like)."""

    def accept(data: bytes, m: re.Match[bytes]) -> BSpan | None:
        start, end = m.span(group)
        if end - start > _MAX_VALUE:
            return None
        value = _text(data[start:end])
        if _unlike_secret(value, numbers=numbers):
            return None
        if family == "token" and not _machine_like(value):
            return None
        return start, end

    return accept


def _accept_base64_private_key(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    # base64 of "-----BEGIN ..." (Kubernetes `tls.key: LS0tLS1CRUdJTi...`): a private key,
    # not a certificate or a public key.
    head = m.group()[:96]
    try:
        decoded = binascii.a2b_base64(head[: len(head) - len(head) % 4])
    except binascii.Error:
        return None
    return m.span() if b"PRIVATE KEY" in decoded else None


def _accept_openai(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    if m.group("kind"):
        return m.span()
    body = m.group("body")
    # A bare `sk-` needs a key-like body, not a slug such as sk-learn-compatible-estimators-2024.
    if len(body) < 32 or _DIGIT.search(body) is None or _LONG_RUN.search(body) is None:
        return None
    return m.span()


_DIGIT = re.compile(rb"[0-9]")
_LONG_RUN = re.compile(rb"[A-Za-z0-9]{20}")


def _accept_bearer(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    start, end = m.span("v")
    if end - start > _MAX_VALUE:
        return None
    value = _text(data[start:end])
    if _unlike_secret(value) or not _machine_like(value):
        return None
    return start, end


def _accept_cli_password(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    start, end = m.span("pw")
    if end - start > _MAX_VALUE or data[start] == 0x2D:  # "-": the next option
        return None
    value = _text(data[start:end])
    if _unlike_secret(value) or _BARE_WORD.fullmatch(value):
        return None  # -u 1000:1000, -u www-data:www-data
    return start, end


_accept_v = _accept_group("v")
_QUERY_STARTS = (b"?", b"&", b"?x-amz-", b"&x-amz-", b"?x-goog-", b"&x-goog-")


def _accept_signature(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    # Only as a URL query parameter: ?sig=, &signature=, &X-Amz-Signature=, &X-Goog-Signature=.
    if not data[max(0, m.start() - 8) : m.start()].lower().endswith(_QUERY_STARTS):
        return None
    return _accept_v(data, m)


# ---------------------------------------------------------------------------------------------
# `KEY=value`, `KEY: value`, `"key": "value"`, `--key value`, `<key>value</key>`, name/value pairs

_VALUE = r"""
    [ \t]*
    (?:
        (?P<q>\\?["'`])(?P<qv>[^\s"'`\\]+)(?P=q)       # "value", 'value', \"value\"
      | (?P<uv>[^\s"'`\\,;()\[\]{}<>|&]+)              # value
    )
"""
_ASSIGN = (
    r"""
    (?![a-z0-9_.-])                                   # the key ends with the keyword
    (?:\\?["'`])?\]?                                  # "key", os.environ["KEY"]
    (?P<pre>[ \t]*)(?P<sep>:=|=(?![=>~])|:(?![:/]))   # not ==, =>, ::, ://
    (?P<post>[ \t]*)
"""
    + _VALUE
)
# One regex per keyword, each starting with its literal (on the lowered text).
_ASSIGN_KEYWORDS = (
    ("pass", r"(?P<kw>pass(?:word|wd|phrase)?)"),
    ("pwd", r"(?P<kw>pwd)"),
    ("secret", r"(?P<kw>secret)"),
    ("token", r"(?P<kw>token)"),
    ("key", r"(?P<kw>key)"),
    ("auth", r"(?P<kw>auth(?:orization)?)"),
)
_FLAG = (
    r"""
    --(?<![a-z0-9_.-]--)(?P<flag>[a-z0-9]+(?:-[a-z0-9]+){0,5})   # --client-secret VALUE
    [ \t]+(?!-)
"""
    + _VALUE
)
_XML = r"""
    <(?P<tag>[a-z0-9_.:-]{1,60})>(?P<xv>[^<>\s]+)</(?P=tag)>  # <password>value</password>
"""
_NAME_VALUE = (
    r"""
    name\\?["']?[ \t]*[:=][ \t]*\\?["']?(?P<name>[a-z0-9_.-]{1,100})\\?["']?[ \t]*,?
    (?:[ \t]|\r?\n|\\n|\\r)*                          # next line or same line
    (?:-[ \t]*)?\\?["']?value\\?["']?[ \t]*[:=]
"""
    + _VALUE
)


def _value_span(data: bytes, m: re.Match[bytes]) -> tuple[int, int, bool]:
    """The value of an assignment match, and whether it was quoted."""
    if m.group("qv") is not None:
        return m.start("qv"), m.end("qv"), True
    start, end = m.span("uv")
    while end > start and data[end - 1] in b":.":
        end -= 1  # the end of a sentence or of a walrus condition, not of the value
    return start, end, False


def _key_before(data: bytes, kw_start: int) -> int:
    """Where the identifier that ends in the keyword at `kw_start` begins."""
    i, lo = kw_start, max(0, kw_start - 100)
    while i > lo and data[i - 1] in _KEY_BYTES:
        i -= 1
    return i


def _assignment_finder() -> Finder:
    flags = re.VERBOSE
    keywords = [
        (hint.encode(), re.compile((kw + _ASSIGN).encode(), flags)) for hint, kw in _ASSIGN_KEYWORDS
    ]
    flag_rx = re.compile(_FLAG.encode(), flags)
    xml_rx = re.compile(_XML.encode(), flags)
    nv_rx = re.compile(_NAME_VALUE.encode(), flags)

    def find(data: bytes, low: bytes) -> Iterator[BSpan]:
        # The decision depends only on the bytes from the key to the character after the
        # match: repeated candidates (dense or repetitive text) are decided once per call.
        decided: dict[bytes, tuple[int, int] | None] = {}
        for hint, rx in keywords:
            if hint not in low:
                continue
            for m in rx.finditer(low):
                kw_start, match_end = m.start("kw"), m.end()
                key_start = _key_before(data, kw_start)
                seen = data[key_start : match_end + 1] if match_end - key_start < 256 else b""
                if seen in decided:
                    offsets = decided[seen]
                    if offsets is not None:
                        yield key_start + offsets[0], key_start + offsets[1]
                    continue
                if seen:
                    decided[seen] = None
                key = data[key_start : m.end("kw")].decode("ascii")
                family = _key_family(key, kw_start - key_start)
                if family is None:
                    continue
                start, end, quoted = _value_span(data, m)
                if end - start > _MAX_VALUE:
                    continue
                if _assigned_secret(
                    _text(data[start:end]),
                    family=family,
                    key=key.lstrip(_SEPARATORS),
                    quoted=quoted,
                    sep=m.group("sep").decode("ascii"),
                    pre=bool(m.group("pre")),
                    post=bool(m.group("post")),
                    after=data[end : end + 1].decode("latin-1"),
                ):
                    if seen:
                        decided[seen] = (start - key_start, end - key_start)
                    yield start, end
        if b"--" in low:
            for m in flag_rx.finditer(low):
                name = data[m.start("flag") : m.end("flag")].decode("ascii")
                km = _KEY_END.search(name)
                if km is None or (family := _key_family(name, km.start())) is None:
                    continue
                start, end, quoted = _value_span(data, m)
                if end - start > _MAX_VALUE:
                    continue
                if _assigned_secret(
                    _text(data[start:end]),
                    family=family,
                    key=name.lower(),
                    quoted=quoted,
                    sep=" ",
                    pre=True,
                    post=True,
                    after=data[end : end + 1].decode("latin-1"),
                ):
                    yield start, end
        if b"</" in low:
            for m in xml_rx.finditer(low):
                tag = data[m.start("tag") : m.end("tag")].decode("ascii").rsplit(":", 1)[-1]
                family = secret_key_family(tag)
                if family is None:
                    continue
                start, end = m.span("xv")
                if end - start > _MAX_VALUE:
                    continue
                if _assigned_secret(_text(data[start:end]), family=family, key=tag, quoted=True):
                    yield start, end
        if b"value" in low:
            for m in nv_rx.finditer(low):
                name = data[m.start("name") : m.end("name")].decode("ascii")
                family = secret_key_family(name)
                if family is None:
                    continue
                start, end, _quoted = _value_span(data, m)
                if end - start > _MAX_VALUE:
                    continue
                # A name/value pair holds data (an environment entry), like a literal.
                if _assigned_secret(_text(data[start:end]), family=family, key=name, quoted=True):
                    yield start, end

    return find


# ---------------------------------------------------------------------------------------------
# Private key blocks

_PEM_BEGIN = r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_PEM_END = r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_B64_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _private_key_finder() -> Finder:
    begin_rx = re.compile(_PEM_BEGIN.encode())
    end_rx = re.compile(_PEM_END.encode())
    # Inside a block: base64, whitespace (or JSON-escaped \n), and header lines such as
    # `Proc-Type: 4,ENCRYPTED`, `DEK-Info: AES-128-CBC,...`, `Version: ...`.
    body_rx = re.compile(rb"[A-Za-z0-9+/=\s\\:,.()-]*")
    # A truncated block (no END in sight): the base64 lines right after BEGIN, with real or
    # JSON-escaped newlines.
    tail_rx = re.compile(rb"(?:\s|\\[nr])*[A-Za-z0-9+/]{40}[A-Za-z0-9+/=\s\\]*")

    def find(data: bytes, low: bytes) -> Iterator[BSpan]:
        last_end = 0
        end_at = -2  # where the next "-----END" is (-1: none left, -2: not searched yet)
        body_stop = -1  # where the last body scan stopped (a later start stops there too)
        for m in begin_rx.finditer(data):
            begin, after = m.span()
            if begin < last_end:
                continue  # inside a block already redacted
            if end_at != -1 and end_at < after:
                end_at = data.find(b"-----END", after)
            if end_at >= 0:
                if body_stop < after:
                    body = body_rx.match(data, after)
                    body_stop = body.end() if body else after
                end = end_rx.match(data, end_at)
                # A block is whole when its body scan reached the END line, and it is a real
                # key (a real one has hundreds of base64 characters), not `XXXX` in docs.
                if end is not None and body_stop >= end_at:
                    chunk = data[after : min(end_at, after + 4096)]
                    if len(chunk) - len(chunk.translate(None, _B64_BYTES)) >= 84:
                        last_end = end.end()
                        yield begin, last_end
                        continue
            tail = tail_rx.match(data, after)
            if tail is not None:
                run = tail.group()
                # Keep a trailing backslash that escapes what follows (the \ of \"): the
                # text may be a JSON document and must stay one.
                last_end = tail.end() - (len(run) - len(run.rstrip(b"\\"))) % 2
                yield begin, last_end

    return find


def _signature_finder() -> Finder:
    sig_rx = re.compile(rb"signature=(?P<v>[a-z0-9%+/=_.-]{16,})")
    short_rx = re.compile(rb"sig=(?P<v>[a-z0-9%+/=_.-]{16,})")
    token_rx = re.compile(rb"x-amz-security-token=(?P<v>[a-z0-9%+/=_.-]{16,})")
    accept_token = _accept_v

    def find(data: bytes, low: bytes) -> Iterator[BSpan]:
        for rx, accept in (
            (sig_rx, _accept_signature),
            (short_rx, _accept_signature),
            (token_rx, accept_token),
        ):
            for m in rx.finditer(low):
                span = accept(data, m)
                if span is not None:
                    yield span

    return find


# ---------------------------------------------------------------------------------------------
# The default rules, most specific first: on overlap, the earlier rule names the finding.

_TOKEN_CHARS = "A-Za-z0-9_-"


def _spec(
    name: str,
    regex: str,
    *,
    hints: tuple[str, ...],
    trigger: str = "",
    gate: bool = False,
    group: str | None = None,
    lower: bool = False,
    accept: Accept | None = None,
    finder: Callable[[], Finder] | None = None,
    flags: int = 0,
) -> _Builtin:
    lowered = tuple(h.lower() for h in hints)
    return _Builtin(
        name=name,
        pattern=re.compile(regex, flags | (re.IGNORECASE if lower else 0)),
        group=group,
        fast=None if finder else re.compile(regex.encode(), flags),
        lower=lower,
        hints=tuple(h.encode() for h in lowered),
        trigger=trigger or "|".join(re.escape(h) for h in lowered),
        gate=gate,
        accept=accept,
        finder=finder() if finder else None,
    )


@functools.cache
def _default_rules() -> tuple[_Builtin, ...]:
    """Compiled on first use, so importing this module stays cheap."""
    return (
        _spec(
            "private-key",
            _PEM_BEGIN,
            hints=("PRIVATE KEY",),
            gate=True,
            finder=_private_key_finder,
        ),
        _spec(
            "private-key",
            _lit("LS0tLS1CRUdJTi", "A-Za-z0-9+/") + r"[A-Za-z0-9+/]{40,}={0,2}",
            hints=("LS0tLS1CRUdJTi",),
            accept=_accept_base64_private_key,
        ),
        _spec(
            "anthropic-api-key",
            _lit("sk-ant-", _TOKEN_CHARS) + r"[a-z]{2,10}\d{2}-[A-Za-z0-9_-]{20,}",
            hints=("sk-ant-",),
        ),
        _spec(
            "openai-api-key",
            _lit("sk-", _TOKEN_CHARS)
            + r"(?P<kind>(?:proj|svcacct|admin|None)-)?(?P<body>[A-Za-z0-9_-]{20,})",
            hints=("sk-",),
            accept=_accept_openai,
        ),
        _spec(
            "databricks-token",
            _lit("dapi") + r"[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dapi",),
        ),
        _spec(
            "databricks-oauth-secret",
            _lit("do") + r"(?:se|au)[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dose", "doau"),
        ),
        _spec(
            "databricks-oauth-secret",
            _lit("dkea") + r"[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dkea",),
        ),
        _spec(
            "aws-access-key-id",
            _lit("A") + r"(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])(?<!EXAMPLE)",
            hints=("AKIA", "ASIA", "ABIA", "ACCA"),
        ),
        _spec(
            "github-token",
            _lit("gh") + r"(?:[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{40,})",
            hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        ),
        _spec(
            "gitlab-token",
            _lit("gl") + r"(?:pat|dt|rt|ptt|cbt|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}",
            hints=(
                "glpat-",
                "gldt-",
                "glrt-",
                "glptt-",
                "glcbt-",
                "glsoat-",
                "glft-",
                "glimt-",
                "glagent-",
            ),
        ),
        _spec(
            "slack-token",
            _lit("x") + r"(?:ox(?:e\.xox)?[abposre]-[A-Za-z0-9-]{10,}|app-[A-Za-z0-9-]{20,})",
            hints=("xox", "xapp-"),
        ),
        _spec(
            "slack-webhook",
            r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/-]{10,})",
            hints=("hooks.slack.com/",),
            group="s",
        ),
        _spec(
            "webhook-url",
            r"(?:discord(?:app)?\.com/api/webhooks|\.webhook\.office\.com/webhookb2)"
            r"/(?P<s>[A-Za-z0-9_/@.-]{20,})",
            hints=("/api/webhooks/", ".webhook.office.com/"),
            gate=True,
            group="s",
        ),
        _spec(
            "google-api-key",
            _lit("AIza", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])",
            hints=("AIza",),
        ),
        _spec(
            "google-oauth-client-secret",
            _lit("GOCSPX-", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{20,}",
            hints=("GOCSPX-",),
        ),
        _spec(
            "stripe-key",
            _lit("sk_") + r"(?:live|test)_[A-Za-z0-9]{16,}",
            hints=("sk_live_", "sk_test_"),
        ),
        _spec(
            "stripe-key",
            _lit("rk_") + r"(?:live|test)_[A-Za-z0-9]{16,}",
            hints=("rk_live_", "rk_test_"),
        ),
        _spec("stripe-webhook-secret", _lit("whsec_") + r"[A-Za-z0-9+/=]{24,}", hints=("whsec_",)),
        _spec(
            "huggingface-token",
            _lit("hf_", "A-Za-z0-9_") + r"[A-Za-z0-9]{30,}",
            hints=("hf_",),
        ),
        _spec("npm-token", _lit("npm_", "A-Za-z0-9_") + r"[A-Za-z0-9]{36,}", hints=("npm_",)),
        _spec("pypi-token", _lit("pypi-AgE") + r"[A-Za-z0-9_-]{50,}", hints=("pypi-AgE",)),
        _spec(
            "sendgrid-api-key",
            _lit("SG.") + r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
            hints=("SG.",),
        ),
        _spec(
            "twilio-api-key",
            _lit("SK") + r"[0-9a-fA-F]{32}(?![A-Za-z0-9])",
            hints=("SK",),
            trigger=r"sk[0-9a-f]{32}",
        ),
        _spec(
            "jwt",
            _lit("eyJ", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
            hints=("eyJ",),
        ),
        _spec(
            "azure-storage-key",
            r"key=(?:(?<=accountkey=)|(?<=sharedaccesskey=))(?P<v>[a-z0-9+/]{20,}={0,2})",
            hints=("accountkey=", "sharedaccesskey="),
            lower=True,
            group="v",
        ),
        _spec(
            "url-signature",
            r"(?:sig|signature|x-amz-security-token)=(?P<v>[a-z0-9%+/=_.-]{16,})",
            hints=("sig=", "signature=", "security-token="),
            lower=True,
            gate=True,
            finder=_signature_finder,
        ),
        _spec(
            "aws-secret-access-key",
            r"secret[_-]?access[_-]?key\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
            r"(?P<v>[a-z0-9/+=]{40})(?![a-z0-9/+=])",
            hints=("access_key", "accesskey", "access-key"),
            lower=True,
            accept=_accept_group("v"),
        ),
        _spec(
            "url-password",
            r"://(?P<user>[^\s:/@'\"`<>()\[\]{}\\]*):(?P<pw>[^\s/@'\"`<>()\[\]{}\\?#]+)@",
            hints=("://",),
            accept=_accept_group("pw", family="password", numbers=True),
        ),
        _spec(
            "authorization-header",
            r"authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[ \t]*(?:bearer|basic|token|bot)"
            r"[ \t]+(?P<v>[a-z0-9._~+/=-]+)",
            hints=("authorization",),
            lower=True,
            accept=_accept_group("v", family="password"),
        ),
        _spec(
            "bearer-token",
            _lit("bearer", "a-z0-9") + r"[ \t]+(?P<v>[a-z0-9._~+/=-]{16,})",
            hints=("bearer",),
            lower=True,
            accept=_accept_bearer,
        ),
        _spec(
            "cli-user-password",
            r"-(?<![\w-]-)(?:u|-user)[ \t=]+\\?[\"']?(?P<user>[^\s:\"'\\]+):(?P<pw>[^\s\"'\\]+)",
            hints=("-u", "--user"),
            accept=_accept_cli_password,
        ),
        _spec(
            "netrc-password",
            _lit("machine", "a-z0-9")
            + r"[ \t]+\S+\s+login[ \t]+\S+\s+password[ \t]+(?P<v>[^\s\"'\\]+)",
            hints=("machine",),
            lower=True,
            accept=_accept_group("v", family="password"),
        ),
        _spec(
            "secret-assignment",
            _KEYWORD + _ASSIGN,
            hints=tuple(hint for hint, _ in _ASSIGN_KEYWORDS),
            lower=True,
            finder=_assignment_finder,
            flags=re.VERBOSE,
        ),
    )


@functools.cache
def _trigger() -> re.Pattern[bytes]:
    """One regex that finds whether any built-in rule can fire (on the lowered text)."""
    return re.compile("|".join(rule.trigger for rule in _default_rules()).encode())


# A string up to this size is first checked against `_trigger()` in one call: most strings in
# a transcript (ids, timestamps, short messages) need no other work. Longer ones go rule by
# rule, where each rule's `in` checks are faster than one regex with many branches.
_TRIGGER_MAX = 4096

if TYPE_CHECKING:
    DEFAULT_RULES: tuple[Rule, ...]


def __getattr__(name: str) -> Any:
    # DEFAULT_RULES is built on first access (PEP 562): compiling ~60 regexes costs ~20 ms.
    if name == "DEFAULT_RULES":
        return _default_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# =============================================================================================


def _compile_custom(patterns: Iterable[str]) -> list[Rule]:
    if isinstance(patterns, str):
        patterns = [patterns]  # one pattern, not its characters
    rules: list[Rule] = []
    for raw in patterns:
        if not isinstance(raw, str) or not raw:
            raise RedactionPatternError(raw, "a pattern must be a non-empty string")
        try:
            pattern = re.compile(raw)
        except re.error as exc:
            raise RedactionPatternError(raw, str(exc)) from None
        group: str | None = "secret" if "secret" in pattern.groupindex else None
        rules.append(Rule(CUSTOM_RULE_NAME, pattern, group))
    return rules


def _char_offsets(data: bytes, offsets: Iterable[int]) -> dict[int, int]:
    """Byte offsets in `data` (UTF-8) → offsets in the decoded text, in one pass."""
    result: dict[int, int] = {}
    byte_pos = char_pos = 0
    for off in sorted(set(offsets)):
        at = off
        while at < len(data) and 0x80 <= data[at] < 0xC0:
            at += 1  # never inside a character (defensive: rules start and end on ASCII)
        char_pos += len(data[byte_pos:at].decode("utf-8", "surrogatepass"))
        byte_pos = at
        result[off] = char_pos
    return result


def _outside_markers(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """`spans` (sorted, disjoint) that overlap no existing marker: redacting twice changes
    nothing, and `-u [REDACTED:x]:` is not a user and a password."""
    markers = [m.span() for m in _MARKER.finditer(text)]
    kept: list[tuple[int, int, str]] = []
    i = 0
    for span in spans:
        while i < len(markers) and markers[i][1] <= span[0]:
            i += 1
        if i < len(markers) and markers[i][0] < span[1]:
            continue
        kept.append(span)
    return kept


class Redactor:
    """Replaces secrets in text and in JSON-like data by ``[REDACTED:<rule name>]``.

    `extra_patterns`: the team's regular expressions (strings). A whole match is replaced, or
    only the named group ``secret`` when the pattern has one. An invalid pattern raises
    `RedactionPatternError` (a `ValueError`) naming it. `include_defaults=False` keeps only
    the team's patterns (and turns off the secret-looking-key rule for structured data).
    """

    def __init__(
        self, extra_patterns: Iterable[str] = (), *, include_defaults: bool = True
    ) -> None:
        custom = _compile_custom(extra_patterns)
        self.include_defaults = include_defaults
        self._builtins: tuple[_Builtin, ...] = _default_rules() if include_defaults else ()
        self._trigger = _trigger() if include_defaults else None
        self._custom: tuple[Rule, ...] = tuple(custom)
        self.rules: tuple[Rule, ...] = (*self._builtins, *self._custom)

    # -- text --------------------------------------------------------------------------------

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """The merged (start, end, rule name) spans that `redact_text` replaces, in order."""
        found: list[tuple[int, int, int]] = []
        if self._trigger is not None and text:
            data = text.encode("utf-8", "surrogatepass")
            low = data.lower()  # ASCII letters only: offsets unchanged
            byte_spans: list[tuple[int, int, int]] = []
            if len(low) > _TRIGGER_MAX or self._trigger.search(low) is not None:
                for index, rule in enumerate(self._builtins):
                    if rule.gate:
                        for hint in rule.hints:
                            if hint in low:
                                break
                        else:
                            continue
                    for start, end in rule.find(data, low):
                        byte_spans.append((start, end, index))
            if byte_spans and len(data) != len(text):
                to_char = _char_offsets(data, (o for s, e, _ in byte_spans for o in (s, e)))
                byte_spans = [(to_char[s], to_char[e], i) for s, e, i in byte_spans]
            found = byte_spans
        first_custom = len(self._builtins)
        for offset, custom in enumerate(self._custom):
            for start, end in custom.spans(text):
                found.append((start, end, first_custom + offset))
        if not found:
            return []
        found.sort()
        merged: list[tuple[int, int, str]] = []
        cur_start, cur_end, cur_index = found[0]
        for start, end, index in found[1:]:
            if start < cur_end:  # overlapping: one finding, named by the most specific rule
                cur_end = max(cur_end, end)
                cur_index = min(cur_index, index)
            else:
                merged.append((cur_start, cur_end, self.rules[cur_index].name))
                cur_start, cur_end, cur_index = start, end, index
        merged.append((cur_start, cur_end, self.rules[cur_index].name))
        if _MARKER_PREFIX in text:
            merged = _outside_markers(text, merged)
        return merged

    def redact_text(self, text: str) -> tuple[str, int]:
        """`text` with every secret replaced by its marker, and how many were replaced."""
        spans = self.find(text)
        if not spans:
            return text, 0
        parts: list[str] = []
        pos = 0
        for start, end, name in spans:
            parts.append(text[pos:start])
            parts.append(marker(name))
            pos = end
        parts.append(text[pos:])
        return "".join(parts), len(spans)

    # -- structured data ---------------------------------------------------------------------

    def redact(self, value: Any) -> tuple[Any, int]:
        """A copy of `value` (dicts, lists, tuples, strings; other types kept as they are) with
        secrets redacted in every string, and the number of redactions.

        Dict keys are kept. A string under a secret-looking key (``{"password": ...}``,
        ``{"GITHUB_TOKEN": ...}``; also ``{"name": "DB_PASSWORD", "value": ...}``) is replaced
        whole unless it is obviously not a secret (empty, a placeholder, a number, a path).
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            total = 0
            pair_secret = self.include_defaults and _name_value_secret(value)
            for key, item in value.items():
                if (
                    isinstance(item, str)
                    and self.include_defaults
                    and (
                        (pair_secret and key == "value")
                        or (isinstance(key, str) and _field_secret(key, item))
                    )
                ):
                    out[key] = marker(FIELD_RULE_NAME)
                    total += 1
                    continue
                out[key], n = self.redact(item)
                total += n
            return out, total
        if isinstance(value, list | tuple):
            items: list[Any] = []
            total = 0
            for item in value:
                new, n = self.redact(item)
                items.append(new)
                total += n
            return (items if isinstance(value, list) else tuple(items)), total
        return value, 0
