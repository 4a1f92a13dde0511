"""A stand-in Databricks workspace and a fake `databricks` CLI, for tests on loopback."""
