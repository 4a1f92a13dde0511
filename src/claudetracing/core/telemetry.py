"""MLflow's usage telemetry stays off in our processes unless the person turned it on.

MLflow 3 sends usage events by default (and writes `~/.config/mlflow/telemetry.json` with an
installation id). Our exporter runs in the background on every turn of every session, so that
would be a request nobody chose, on every turn: ADR 13 (docs/adr/0013-telemetry.md). Called
before MLflow is imported: it reads the variable once, when it loads."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

MLFLOW_SWITCH = "MLFLOW_DISABLE_TELEMETRY"
DO_NOT_TRACK = "DO_NOT_TRACK"  # https://consoledonottrack.com: any of these values means no
_YES = ("1", "true", "yes", "on")


def keep_off(environ: MutableMapping[str, str] = os.environ) -> None:
    """MLFLOW_DISABLE_TELEMETRY=true, unless the person set it themselves (`false` opts in);
    DO_NOT_TRACK (1 or true) wins over an opt-in, as MLflow only reads its `true`."""
    refused = environ.get(DO_NOT_TRACK, "").strip().lower() in _YES
    if refused or not environ.get(MLFLOW_SWITCH, "").strip():
        environ[MLFLOW_SWITCH] = "true"
