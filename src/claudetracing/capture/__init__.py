"""The hook side: spool each Claude Code event and start the exporter; stdlib only."""
