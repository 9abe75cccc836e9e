"""Tooling for the budget–expense matcher (never shipped in deploy.zip)."""
