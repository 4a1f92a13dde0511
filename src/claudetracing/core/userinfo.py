"""The user-info of a URI (`scheme://user:password@host`) never leaves us as it is.

Every line we write for people (messages, logs, status, spool reasons, crash reports) passes
`mask`, whatever produced it: a URI typed by a person, or an outside library's error that
echoes the URI it called. The hook imports this module: stdlib only."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import TextIO

MASK = "***"
# scheme://, then everything up to the last `@` before a space or quote: a password with an
# unescaped `/` or `@` is masked whole (a path holding an `@` is masked too: over-masking only
# costs a little readability). `scheme:///path` has no authority, so no user-info.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?!/)[^\s'\"`<>]*@")


def mask(text: str) -> str:
    """`text` with the user-info of every URI in it replaced: `scheme://***@host`."""
    if "@" not in text:  # the common case, and the hook's: no regex at all
        return text
    return _USERINFO.sub(lambda found: f"{found.group('scheme')}{MASK}@", text)


def present(uri: str) -> bool:
    """Whether a URI's authority carries user-info (a user name, a password or a token before
    `@`); a path holding an `@` (`sqlite:////home/x@y/mlflow.db`) is no user-info, a password
    with an unescaped `/` (`http://alice:pa/ss@host`) is."""
    from urllib.parse import urlsplit

    rest = uri.partition("://")[2]
    try:
        netloc = urlsplit(uri).netloc
    except ValueError:  # e.g. an unbalanced `[` in the host: not a URI we can take apart
        netloc = rest.partition("/")[0]
    if "@" in netloc:
        return True
    if rest.startswith("/") or "@" not in rest:
        return False
    _, colon, after = rest.partition("/")[0].partition(":")
    return bool(colon) and not after.isdigit()  # `user:pass/…@`, not `host:port/…@`


class MaskedStream:
    """A text stream that masks what is written to it: a process's stderr, where libraries
    (MLflow's own logger among them) print whatever they like."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(mask(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
