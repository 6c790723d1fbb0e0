"""Outgoing mail: template rendering, MIME composition, delivery."""
