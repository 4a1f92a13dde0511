"""The detached worker, the exporter, the ledger and the one MLflow backend."""
