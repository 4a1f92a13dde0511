"""Fixtures for the harness selftests: the harness plugin, loaded by the root tests/conftest.py."""

# tests/conftest.py declares pytest_plugins = ["tests.harness.fixtures"] (pytest only honours
# pytest_plugins in the root conftest), which provides claude_bin, messages_api, claude_home and
# git_repo here. Nothing else is needed.
