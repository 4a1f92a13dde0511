"""What a redaction rule is: a named pattern that reports spans, and the built-in kind on bytes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "Accept",
    "BSpan",
    "BuiltinRule",
    "Example",
    "Finder",
    "Rule",
    "Span",
    "char_offsets",
    "text_of",
]

Span = tuple[int, int]
# The built-in rules match UTF-8 bytes (`data`) or its ASCII-lowered copy (`low`, same
# offsets); their spans are byte offsets.
BSpan = tuple[int, int]
Accept = Callable[[bytes, "re.Match[bytes]"], "BSpan | None"]
Finder = Callable[[bytes, bytes], Iterable[BSpan]]


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


@dataclass(frozen=True)
class Example:
    """A realistic case of what a rule redacts: `before`, then the secret, then `after`.

    The secret is given in `pieces`, joined when used, so that no whole token sits in the source
    for a secret scanner (GitHub push protection) to flag. An example with nothing around it
    and no whitespace in it is a token the rule finds anywhere: the generated tests also put it
    in URLs and in a header. Every example is also put in JSON, in JSON escaped in a JSON
    string, and at the start and the end of a line.
    """

    pieces: tuple[str, ...]
    before: str = ""
    after: str = ""

    @property
    def secret(self) -> str:
        return "".join(self.pieces)

    @property
    def text(self) -> str:
        return self.before + self.secret + self.after

    @property
    def standalone(self) -> bool:
        return not (self.before or self.after or any(c.isspace() for c in self.secret))


@dataclass(frozen=True)
class BuiltinRule(Rule):
    """A default rule (the public view is `name`, `pattern` and `group`).

    `fast`: the regex as bytes; `lower`: run on the lowered bytes (`pattern` carries
    IGNORECASE). `hints`: lower-case byte strings of which one must occur in the lowered text
    for the rule to run; `trigger`: the same condition as a regex (over the lowered text);
    `gate`: check the hints before running the regex (measured: when the regex starts with a
    literal, ``re`` finds it faster than ``bytes.__contains__`` does, so most rules don't).
    `accept`: decides on each match and returns the span to redact. `finder`: replaces the
    regex loop. `kind`: the table of docs/redaction.md the rule is listed in ("token": found
    by its shape, "place": by where it is), `doc`: its row there (rules of one name share a
    row, their `doc`s joined), `examples`: what it redacts (the generated tests use them).
    """

    fast: re.Pattern[bytes] | None = None
    lower: bool = False
    hints: tuple[bytes, ...] = ()
    trigger: str = ""
    gate: bool = False
    accept: Accept | None = None
    finder: Finder | None = None
    kind: str = "token"
    doc: str = ""
    examples: tuple[Example, ...] = ()

    def spans(self, text: str) -> Iterator[Span]:
        data = text.encode("utf-8", "surrogatepass")
        found = list(self.find(data, data.lower()))
        if found and len(data) != len(text):
            to_char = char_offsets(data, (o for span in found for o in span))
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


def text_of(data: bytes) -> str:
    """A matched value as text, to be judged."""
    return data.decode("utf-8", "replace")


def char_offsets(data: bytes, offsets: Iterable[int]) -> dict[int, int]:
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
