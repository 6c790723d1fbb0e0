"""The CPT section a code number falls in, from the widely published number ranges.

Section names are facts about the code set's layout, not AMA descriptors, so
they can be said without a licence. This is a classifier, not a validity
check: a number inside a range need not be a code. The table is consultant's
own, written from the ranges printed in every CPT manual's contents.
"""

from __future__ import annotations

from dataclasses import dataclass

SURGERY = "Surgery"


@dataclass(frozen=True, slots=True)
class CptSection:
    section: str
    subsection: str | None
    first: str  # the range, as code numbers: "20100", "29999"; or a pattern, "####T"
    last: str  # "" for a pattern

    def __str__(self) -> str:
        name = f"{self.section}, {self.subsection}" if self.subsection else self.section
        if self.first == self.last or not self.last:
            return f"{name} ({self.first})"
        return f"{name} ({self.first}\u2013{self.last})"


# (first, last, section, subsection). Subsections before their section, so the
# first match is the most specific one.
_RANGES: tuple[tuple[int, int, str, str | None], ...] = (
    (100, 1999, "Anesthesia", None),
    (10004, 19499, SURGERY, "Integumentary System"),
    (20100, 29999, SURGERY, "Musculoskeletal System"),
    (30000, 32999, SURGERY, "Respiratory System"),
    (33016, 37799, SURGERY, "Cardiovascular System"),
    (38100, 38999, SURGERY, "Hemic and Lymphatic Systems"),
    (39000, 39599, SURGERY, "Mediastinum and Diaphragm"),
    (40490, 49999, SURGERY, "Digestive System"),
    (50010, 53899, SURGERY, "Urinary System"),
    (54000, 55899, SURGERY, "Male Genital System"),
    (55920, 55980, SURGERY, "Reproductive System and Intersex"),
    (56405, 58999, SURGERY, "Female Genital System"),
    (59000, 59899, SURGERY, "Maternity Care and Delivery"),
    (60000, 60699, SURGERY, "Endocrine System"),
    (61000, 64999, SURGERY, "Nervous System"),
    (65091, 68899, SURGERY, "Eye and Ocular Adnexa"),
    (69000, 69979, SURGERY, "Auditory System"),
    (69990, 69990, SURGERY, "Operating Microscope"),
    (10004, 69990, SURGERY, None),
    (70010, 79999, "Radiology", None),
    (80047, 89398, "Pathology and Laboratory", None),
    (90281, 99199, "Medicine", None),
    (99202, 99499, "Evaluation and Management", None),
    (99500, 99607, "Medicine", None),
)

# Four digits and a letter: the supplementary categories, numbered apart from the rest.
_LETTERED = {
    "F": "Category II (performance measurement)",
    "T": "Category III (emerging technology)",
    "U": "Proprietary Laboratory Analyses (PLA)",
}


def cpt_section(code: str) -> CptSection | None:
    """Return the section (and surgery subsection) of a CPT code number, if it is in one."""
    if len(code) != 5:
        return None
    if code[:4].isdigit() and code[4] in _LETTERED:
        return CptSection(_LETTERED[code[4]], None, f"####{code[4]}", "")
    if not code.isdigit():
        return None
    number = int(code)
    for first, last, section, subsection in _RANGES:
        if first <= number <= last:
            return CptSection(section, subsection, f"{first:05d}", f"{last:05d}")
    return None
