"""claudetracing: Claude Code sessions as faithful MLflow traces."""

__version__ = "0.1.0"
