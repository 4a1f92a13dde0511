"""The built-in enrichments; they register through entry points exactly like third-party ones."""
