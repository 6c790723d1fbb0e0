"""The consult pipeline: each stage is a module with one job; data moves forward only.

intake stores the raw mail; process runs parse, classify, account, extract,
lookup and draft in one transaction; review releases an approved draft to the
outbox; send delivers it.
"""

STAGES = ("intake", "parse", "classify", "account", "extract", "lookup", "draft", "review", "send")
