"""Code sets and correct-coding edits: loading, importing and reading them.

`releases` keeps the bookkeeping every load shares (one `CodeRelease` row per
loaded file, idempotent by content hash, replaced by effective date);
`importers` reads the CMS files, `icd10cm` the CDC tabular; `cli` exposes them
as `consultant codes …`. The lookup stage reads the tables, never the files.
"""
