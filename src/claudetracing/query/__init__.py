"""Search, show and usage over the traces a destination holds."""
