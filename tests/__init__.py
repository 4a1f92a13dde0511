"""Test suite of claudetracing."""
