"""The `traces` executable: `traces hook` takes a fast path that never imports the CLI stack."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["hook"] and not {"-h", "--help"} & set(sys.argv[2:]):
        from claudetracing.capture.hook import main as hook_main

        sys.exit(hook_main())
    from claudetracing.cli import run

    run()
