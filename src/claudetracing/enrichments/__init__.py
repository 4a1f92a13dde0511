"""Enrichments: the plugin contract, registry, team settings and the built-in tag sources."""
