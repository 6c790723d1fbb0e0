"""Mail templates: one folder per mail, each a subject/text/HTML triple.

A package only so the templates install with the code; it holds no Python.
Deployments override any file by putting one with the same path in
CONSULTANT_TEMPLATES_DIR.
"""
