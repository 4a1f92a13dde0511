"""What every trace goes through between building and upload, as configured for a repository."""

from __future__ import annotations

from claudetracing.config import Config
from claudetracing.export import Preparer


def prepare(config: Config) -> Preparer | None:
    return None
