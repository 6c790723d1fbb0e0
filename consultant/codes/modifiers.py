"""Modifiers: consultant's own short wording of the CPT (Level I) modifiers, and
which modifiers NCCI accepts to bypass a procedure-to-procedure edit.

The AMA's descriptors of the Level I modifiers are copyrighted, so these are a
few words each of our own, enough to remind a certified coder which modifier
is meant. Level II modifiers (LT, XS, GA, …) come with their CMS descriptions
from the HCPCS file. The bypass list is the NCCI Policy Manual's list of
NCCI-associated modifiers (chapter I, "Modifiers and Modifier Indicators").
"""

from __future__ import annotations

LEVEL_ONE: dict[str, str] = {
    "22": "increased procedural services (substantially more work than usual)",
    "23": "unusual anesthesia (general anesthesia where usually none or local)",
    "24": "unrelated E/M service by the same physician during a postoperative period",
    "25": "significant, separately identifiable E/M service by the same physician "
    "on the same day as a procedure or other service",
    "26": "professional component only",
    "27": "multiple outpatient hospital E/M encounters on the same date",
    "32": "mandated service (required by a payer, agency or regulation)",
    "33": "preventive service (cost sharing waived)",
    "47": "anesthesia given by the surgeon",
    "50": "bilateral procedure in the same session",
    "51": "multiple procedures in the same session",
    "52": "reduced service (partly done, at the physician's choice)",
    "53": "procedure discontinued by the physician (patient's well-being at risk)",
    "54": "surgical care only (someone else gives pre- and postoperative care)",
    "55": "postoperative management only",
    "56": "preoperative management only",
    "57": "E/M service that resulted in the decision for surgery",
    "58": "staged or related procedure by the same physician during the postoperative period",
    "59": "distinct procedural service (separate site, session, incision or lesion)",
    "62": "two surgeons (co-surgery), each doing a distinct part",
    "63": "procedure on an infant weighing less than 4 kg",
    "66": "surgical team (complex procedure by several physicians)",
    "73": "facility: procedure discontinued after preparation, before anesthesia",
    "74": "facility: procedure discontinued after anesthesia or after it started",
    "76": "repeat procedure by the same physician",
    "77": "repeat procedure by another physician",
    "78": "unplanned return to the operating room for a related procedure "
    "during the postoperative period",
    "79": "unrelated procedure by the same physician during the postoperative period",
    "80": "assistant surgeon",
    "81": "minimum assistant surgeon",
    "82": "assistant surgeon when no qualified resident is available",
    "90": "laboratory test done by an outside (reference) laboratory",
    "91": "repeat clinical diagnostic laboratory test on the same day",
    "92": "alternative laboratory platform testing (single-use kit or device)",
    "93": "synchronous telemedicine service by audio only",
    "95": "synchronous telemedicine service by real-time audio and video",
    "96": "habilitative service",
    "97": "rehabilitative service",
    "99": "multiple modifiers on one line",
}

# The NCCI-associated modifiers that may bypass an edit with modifier indicator 1.
ANATOMIC = frozenset(
    {"E1", "E2", "E3", "E4", "FA", "LC", "LD", "LM", "LT", "RC", "RI", "RT", "TA"}
    | {f"F{n}" for n in range(1, 10)}
    | {f"T{n}" for n in range(1, 10)}
)
GLOBAL_SURGERY = frozenset({"24", "25", "57", "58", "78", "79"})
OTHER = frozenset({"27", "59", "91", "XE", "XS", "XP", "XU"})
PTP_BYPASS = ANATOMIC | GLOBAL_SURGERY | OTHER


def bypass_group(modifier: str) -> str | None:
    """Which NCCI-associated group a modifier is in: "anatomic", "global surgery", "other"."""
    if modifier in ANATOMIC:
        return "anatomic"
    if modifier in GLOBAL_SURGERY:
        return "global surgery"
    if modifier in OTHER:
        return "other"
    return None
