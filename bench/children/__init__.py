"""Scripts the benchmark runs in fresh processes; each prints one JSON object last."""
