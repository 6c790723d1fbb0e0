"""Reviewer console: the web app that shows cases and releases approved drafts."""
