"""Selftests of the Claude Code harness (they run the real CLI)."""
