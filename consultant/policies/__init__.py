"""The policy library: cited coding rules in our own words, matched to questions.

rules.py reads and checks entries (YAML or database rows), match.py decides
which rules a question and its verdicts call for, store.py keeps every version
in the database and writes the package's starting library (library/*.yaml).
"""
