"""Celery side: the app, one thin task per stage, and the sweep."""
