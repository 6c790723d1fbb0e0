"""Readers for the CMS code files (and the operator's AMA CPT file), one module
per family: `hcpcs` (Alpha-Numeric HCPCS), `ncci` (PTP, MUE, add-on edits),
`pfs` (fee schedule indicators), `cpt` (licensed descriptors). Each reader
streams one file into table rows and checks every field on the way; `source`
holds what they share (lines, CSV headers, field checks, ImportFormatError).
"""
