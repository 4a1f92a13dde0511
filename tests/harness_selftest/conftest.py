"""Load the Claude Code harness fixtures for the selftests."""

# pytest_plugins is only honoured in the rootdir conftest, so import the fixtures instead
from tests.harness.fixtures import claude_bin, claude_home, git_repo, messages_api  # noqa: F401
