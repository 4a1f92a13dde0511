"""Claude Code's files read into the turn model."""
