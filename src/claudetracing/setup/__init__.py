"""Setting a repository up, taking it down, and saying whether tracing works."""
