"""The review layer: everything a coding expert or an operator does to a case, and
every list they read, in one place under the console, the JSON API and the CLI.

- `actions`: save a draft, approve, reject, ask the sender (each writes its
  state change, audit entry and outbox row in the caller's transaction);
- `claims`: claim, give back, take over, and the claim check every action makes;
- `redraft`: the system's draft made again with the code data loaded now;
  `set_setting` does it for the claim setting a reviewer chose;
- `stale`: after new code data, every open system draft made without it redrafted;
- `cases`, `queue`, `listings`: the read models (one case, the review queue and
  similar cases, the outbox and the audit log) with one set of filters each.

Refusals are consultant.errors' types; each shell maps them in one place
(consultant/web/refusals.py, consultant/cli/common.py). The shells only parse
their input, call here, commit, hand rows to the broker
(consultant.handoff), and present the result.
"""

from consultant.review.actions import Rejection, approve, ask_sender, edit_draft, reject, save_draft
from consultant.review.cases import (
    REVIEWABLE,
    CaseView,
    assignee_email,
    code_counts,
    get_case,
    latest_draft,
    list_cases,
    view_case,
)
from consultant.review.claims import check_claim, claim, unclaim
from consultant.review.queue import QueueItem, Similar, review_queue, similar_cases
from consultant.review.redraft import redraft, set_setting

__all__ = [
    "REVIEWABLE",
    "CaseView",
    "QueueItem",
    "Rejection",
    "Similar",
    "approve",
    "ask_sender",
    "assignee_email",
    "check_claim",
    "claim",
    "code_counts",
    "edit_draft",
    "get_case",
    "latest_draft",
    "list_cases",
    "redraft",
    "reject",
    "review_queue",
    "save_draft",
    "set_setting",
    "similar_cases",
    "unclaim",
    "view_case",
]
