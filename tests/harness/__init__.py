"""Harness that drives the real Claude Code CLI offline against a scripted Messages API."""
