"""`python -m claudetracing.runtime`: the exporter's old address, kept for hooks that name it.

The worker lives in `claudetracing.export.worker`; this module only forwards to it."""

from __future__ import annotations

import sys

from claudetracing.export.worker import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
