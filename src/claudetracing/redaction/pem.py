"""Private key blocks (PEM) found whole, or from BEGIN to the end of their base64 when cut off."""

from __future__ import annotations

import re
from collections.abc import Iterator

from claudetracing.redaction.rule import BSpan, Finder

__all__ = ["PEM_BEGIN", "private_key_finder"]

PEM_BEGIN = r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_PEM_END = r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_B64_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def private_key_finder() -> Finder:
    begin_rx = re.compile(PEM_BEGIN.encode())
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
