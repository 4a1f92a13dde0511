"""Values assigned to secret-looking names: KEY=value, --key value, <key>value</key>, name/value."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from claudetracing.redaction.judge import MAX_VALUE, assigned_secret
from claudetracing.redaction.keys import (
    KEY_BYTES,
    KEY_END,
    KEYWORD,
    SEPARATORS,
    key_family,
    secret_key_family,
)
from claudetracing.redaction.rule import BSpan, Finder, text_of

__all__ = ["ASSIGNMENT", "HINTS", "assignment_finder"]

_VALUE = r"""
    [ \t]*
    (?:
        (?P<q>\\*["'`])(?P<qv>[^\s"'`\\]+)(?P=q)   # "value", 'value', \"value\"
      | (?P<uv>[^\s"'`\\,;()\[\]{}<>|&]+)              # value
    )
"""
_ASSIGN = (
    r"""
    (?![a-z0-9_.-])                                   # the key ends with the keyword
    (?:\\*["'`])?\]?                                  # "key", os.environ["KEY"]
    (?P<pre>[ \t]*)(?P<sep>:=|=(?![=>~])|:(?![:/]))   # not ==, =>, ::, ://
    (?P<post>[ \t]*)
"""
    + _VALUE
)
# The public view of the rule: any keyword, then an assignment (on the lowered text).
ASSIGNMENT = KEYWORD + _ASSIGN
# One regex per keyword, each starting with its literal (on the lowered text).
_ASSIGN_KEYWORDS = (
    ("pass", r"(?P<kw>pass(?:word|wd|phrase)?)"),
    ("pwd", r"(?P<kw>pwd)"),
    ("secret", r"(?P<kw>secret)"),
    ("token", r"(?P<kw>token)"),
    ("key", r"(?P<kw>key)"),
    ("auth", r"(?P<kw>auth(?:orization)?)"),
)
HINTS = tuple(hint for hint, _ in _ASSIGN_KEYWORDS)
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


class _Assigned(NamedTuple):
    """What one match gives to a secret-looking key: the value's span and how it was written.

    `sep`, `pre` and `post` matter only to an unquoted value (see `assigned_secret`).
    """

    key: str
    family: str
    start: int
    end: int
    quoted: bool
    sep: str = "="
    pre: bool = False
    post: bool = False


def _value_span(data: bytes, m: re.Match[bytes]) -> tuple[int, int, bool]:
    """The value of an assignment match, and whether it was quoted."""
    if m.group("qv") is not None:
        return m.start("qv"), m.end("qv"), True
    start, end = m.span("uv")
    while end > start and data[end - 1] in b":.":
        end -= 1  # the end of a sentence or of a walrus condition, not of the value
    return start, end, False


def _key_start(data: bytes, m: re.Match[bytes]) -> int:
    """Where the identifier that ends in the matched keyword begins."""
    kw_start = m.start("kw")
    i, lo = kw_start, max(0, kw_start - 100)
    while i > lo and data[i - 1] in KEY_BYTES:
        i -= 1
    if i > 0 and data[i - 1] == 0x5C and data[i] in b"ntr":  # `\nDB_PASSWORD=`: a JSON escape
        i += 1
    return i


def _match_start(data: bytes, m: re.Match[bytes]) -> int:
    return m.start()


def _read_keyword(data: bytes, m: re.Match[bytes], key_start: int) -> _Assigned | None:
    key = data[key_start : m.end("kw")].decode("ascii")
    family = key_family(key, m.start("kw") - key_start)
    if family is None:
        return None
    start, end, quoted = _value_span(data, m)
    sep, pre, post = m.group("sep").decode("ascii"), bool(m.group("pre")), bool(m.group("post"))
    return _Assigned(key.lstrip(SEPARATORS), family, start, end, quoted, sep, pre, post)


def _read_flag(data: bytes, m: re.Match[bytes], _origin: int) -> _Assigned | None:
    name = data[m.start("flag") : m.end("flag")].decode("ascii")
    km = KEY_END.search(name)
    if km is None or (family := key_family(name, km.start())) is None:
        return None
    start, end, quoted = _value_span(data, m)
    return _Assigned(name.lower(), family, start, end, quoted, " ", True, True)


def _read_tag(data: bytes, m: re.Match[bytes], _origin: int) -> _Assigned | None:
    tag = data[m.start("tag") : m.end("tag")].decode("ascii").rsplit(":", 1)[-1]
    family = secret_key_family(tag)
    if family is None:
        return None
    start, end = m.span("xv")
    return _Assigned(tag, family, start, end, True)


def _read_name_value(data: bytes, m: re.Match[bytes], _origin: int) -> _Assigned | None:
    name = data[m.start("name") : m.end("name")].decode("ascii")
    family = secret_key_family(name)
    if family is None:
        return None
    start, end, _quoted = _value_span(data, m)
    # A name/value pair holds data (an environment entry), like a literal.
    return _Assigned(name, family, start, end, True)


@dataclass(frozen=True)
class _Form:
    """One way of writing an assignment. `hint`: must occur in the lowered text for `regex`
    to run; `origin`: where the bytes that decide a match begin; `read`: the assignment a
    match makes, or None when its key names no secret."""

    hint: bytes
    regex: re.Pattern[bytes]
    read: Callable[[bytes, re.Match[bytes], int], _Assigned | None]
    origin: Callable[[bytes, re.Match[bytes]], int] = _match_start


def assignment_finder() -> Finder:
    def compiled(regex: str) -> re.Pattern[bytes]:
        return re.compile(regex.encode(), re.VERBOSE)

    forms = (
        *(
            _Form(hint.encode(), compiled(kw + _ASSIGN), _read_keyword, _key_start)
            for hint, kw in _ASSIGN_KEYWORDS
        ),
        _Form(b"--", compiled(_FLAG), _read_flag),
        _Form(b"</", compiled(_XML), _read_tag),
        _Form(b"value", compiled(_NAME_VALUE), _read_name_value),
    )

    def find(data: bytes, low: bytes) -> Iterator[BSpan]:
        for form in forms:
            if form.hint not in low:
                continue
            # The decision depends only on the bytes from the origin (the key) to the
            # character after the match: repeated candidates (dense or repetitive text) are
            # decided once per call and form.
            decided: dict[bytes, BSpan | None] = {}
            for m in form.regex.finditer(low):
                origin, match_end = form.origin(data, m), m.end()
                seen = data[origin : match_end + 1] if match_end - origin < 256 else b""
                if seen in decided:
                    offsets = decided[seen]
                    if offsets is not None:
                        yield origin + offsets[0], origin + offsets[1]
                    continue
                if seen:
                    decided[seen] = None
                found = form.read(data, m, origin)
                if found is None or found.end - found.start > MAX_VALUE:
                    continue
                start, end = found.start, found.end
                if assigned_secret(
                    text_of(data[start:end]),
                    family=found.family,
                    key=found.key,
                    quoted=found.quoted,
                    sep=found.sep,
                    pre=found.pre,
                    post=found.post,
                    after=data[end : end + 1].decode("latin-1"),
                ):
                    if seen:
                        decided[seen] = (start - origin, end - origin)
                    yield start, end

    return find
