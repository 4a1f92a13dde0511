"""Secrets found and replaced in everything we export."""
