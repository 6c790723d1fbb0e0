"""Answer memory: approved answers remembered by verdict key, offered again, found again.

- `keys`: a verdict's key ("pair:20610+27447") and the facts that decide it (pure);
- `paragraphs`: the answer part of an approved text, the paragraphs naming a
  key's codes, and a paragraph inserted into an answer (pure);
- `record`: what an approval leaves (in the approval's transaction) and what
  the retention purge deletes;
- `offers`: for a case, the newest remembered paragraph of each of its keys,
  with `stale` (consultant.memory.stale) saying why one no longer stands;
- `search`: full-text, code and date search over approved answers and questions.

Questions and answers are mail text: nothing here logs them, and a purged
case leaves memory and the search index (consultant/retention.py).
"""

from consultant.memory.offers import Offer, insert_offer, offers_for
from consultant.memory.paragraphs import insert_paragraph
from consultant.memory.record import (
    count_case,
    fact_sheet,
    forget_case,
    optimize_index,
    remember,
)
from consultant.memory.search import Hit, search

__all__ = [
    "Hit",
    "Offer",
    "count_case",
    "fact_sheet",
    "forget_case",
    "insert_offer",
    "insert_paragraph",
    "offers_for",
    "optimize_index",
    "remember",
    "search",
]
