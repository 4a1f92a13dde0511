"""Passwords given to a command as an option: `mysql -p<password>`, `redis-cli -a <password>`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from claudetracing.redaction.rule import Accept, BSpan, Finder

__all__ = ["OPTION_VALUE", "SAME_COMMAND", "option_finder"]

# The rest of a command: not across a newline (also a JSON-escaped one), `;`, `|` or `&`.
_WINDOW = 200
SAME_COMMAND = r"(?:[^\\\n;|&]|\\[^n]){0,200}?"  # the same, as a regex (the rule's public view)
_COMMAND_END = re.compile(rb"[\n;|&]|\\n")
# An option's value, quoted or not (without its quotes).
OPTION_VALUE = r"\\?[\"']?(?P<v>[^\s\"'\\;|&`]+)"
_VALUE = re.compile(OPTION_VALUE.encode())


def option_finder(program: str, option: str, accept: Accept) -> Finder:
    """The value of the first `option` given to each `program` (regexes on the bytes), that
    `accept` takes.

    The option is looked for in the same command, at most 200 bytes on and before the next
    `program`, so that every byte is looked at once however many commands there are.
    """
    program_rx = re.compile(program.encode())
    option_rx = re.compile(option.encode())

    def find(data: bytes, low: bytes) -> Iterator[BSpan]:
        starts = [m.end() for m in program_rx.finditer(data)]
        for i, start in enumerate(starts):
            stop = min(start + _WINDOW, starts[i + 1] if i + 1 < len(starts) else len(data))
            end = _COMMAND_END.search(data, start, stop)
            if end is not None:
                stop = end.start()
            for found in option_rx.finditer(data, start, stop):
                value = _VALUE.match(data, found.end())
                if value is None:
                    continue  # `mysql -p` alone asks for the password
                span = accept(data, value)
                if span is not None:
                    yield span
                break

    return find
