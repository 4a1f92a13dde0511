"""The names we share with Claude Code and with people: hook events and configuration keys.

Each is defined once, here. The hook imports this module, so it stays plain constants."""

from __future__ import annotations

# Claude Code hook events. Stop ends a turn; StopFailure fires instead of Stop when the API
# failed; SessionEnd ends the session. `traces init` installs our hook for each of them.
STOP = "Stop"
STOP_FAILURE = "StopFailure"
SESSION_END = "SessionEnd"
HOOK_EVENTS = (STOP, STOP_FAILURE, SESSION_END)
FINAL_EVENTS = frozenset({STOP_FAILURE, SESSION_END})  # nothing more comes for the last turn

PREFIX = "CLAUDETRACING_"
# A repository's tracing: read from Claude Code's settings files (`env`) and the environment.
TRACKING_URI = "CLAUDETRACING_TRACKING_URI"
EXPERIMENT = "CLAUDETRACING_EXPERIMENT"
PROFILE = "CLAUDETRACING_PROFILE"
ENRICHMENTS = "CLAUDETRACING_ENRICHMENTS"
USER = "CLAUDETRACING_USER"
# Personal, set by `traces init --uc`: the Unity Catalog trace location (CATALOG.SCHEMA.PREFIX)
# the experiment is linked to, and the SQL warehouse the writes and reads go through.
UC_LOCATION = "CLAUDETRACING_UC_LOCATION"
UC_WAREHOUSE = "CLAUDETRACING_UC_WAREHOUSE"
REDACT_PATTERNS = "CLAUDETRACING_REDACT_PATTERNS"  # team: a JSON list of regular expressions
CONTENT = "CLAUDETRACING_CONTENT"  # team: "full" (default) or "metadata" (no content at all)
# team: how many traces the workspace lets the experiment hold (Databricks raises it on request)
TRACE_CAP = "CLAUDETRACING_TRACE_CAP"
# This machine's runtime, not a repository's tracing: never shown as settings.
HOME = "CLAUDETRACING_HOME"
NO_EXPORTER = "CLAUDETRACING_NO_EXPORTER"
GIVE_UP_AFTER = "CLAUDETRACING_GIVE_UP_AFTER"
GIVE_UP_UNREADABLE_AFTER = "CLAUDETRACING_GIVE_UP_UNREADABLE_AFTER"
BACKGROUND_WAIT = "CLAUDETRACING_BACKGROUND_WAIT"
ENTRY_TIMEOUT = "CLAUDETRACING_ENTRY_TIMEOUT"
MAX_CONTENT_CHARS = "CLAUDETRACING_MAX_CONTENT_CHARS"
DISABLED = "CLAUDETRACING_DISABLED"
DEBUG = "CLAUDETRACING_DEBUG"
# The managed settings file `traces` reads instead of the system's (tests, checking a snippet).
MANAGED_SETTINGS = "CLAUDETRACING_MANAGED_SETTINGS"
# Personal: this machine's `traces` executable, absolute, so the hook needs nothing on PATH.
EXECUTABLE = "CLAUDETRACING_EXECUTABLE"
RUNTIME_ONLY = frozenset(
    {
        HOME,
        NO_EXPORTER,
        GIVE_UP_AFTER,
        GIVE_UP_UNREADABLE_AFTER,
        BACKGROUND_WAIT,
        ENTRY_TIMEOUT,
        MAX_CONTENT_CHARS,
        DISABLED,
        DEBUG,
        MANAGED_SETTINGS,
    }
)
