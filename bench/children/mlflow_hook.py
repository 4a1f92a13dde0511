"""MLflow's Stop hook before 3.13 (`stop_hook_handler`), rebuilt on the functions 3.17 keeps."""

# Reads the Stop payload on stdin, configures MLflow from the environment, builds the trace of
# the last turn and answers Claude Code, all inside the hook process Claude Code waits for.

from __future__ import annotations

import json
import sys

from mlflow.claude_code.tracing import (
    get_hook_response,
    process_transcript,
    read_hook_input,
    setup_mlflow,
)


def main() -> int:
    payload = read_hook_input()
    setup_mlflow()
    trace = process_transcript(payload["transcript_path"], payload.get("session_id"))
    print(json.dumps(get_hook_response()))
    # The real handler exits 0 either way; a benchmark must not time a silent failure.
    return 0 if trace is not None else 1


if __name__ == "__main__":
    sys.exit(main())
