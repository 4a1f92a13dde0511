"""Benchmarks of claudetracing against MLflow's own Claude Code transcript tracing."""
