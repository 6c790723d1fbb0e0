"""The kinds of code release, and how people name them. Pure: plain strings.

A kind is what `consultant codes import KIND` loads and what a `CodeRelease`
row holds (consultant.db.models.codes re-exports these). They live here, away
from the models, so the pure code-system modules (consultant.codes.systems)
can say which kinds their facts come from without reaching the database.
"""

from __future__ import annotations

ICD10CM = "icd10cm"
HCPCS = "hcpcs"
NCCI_PTP = "ncci-ptp"
MUE = "mue"
ADDON = "addon"
PFS = "pfs"
CPT_DESCRIPTORS = "cpt-descriptors"
RBCS = "rbcs"  # CMS's Restructured BETOS Classification System: a category per code
# The same edits as CMS publishes them for other claim settings: PTP edits for
# hospital outpatient claims (the "ccioph" files) and MUEs for facility
# outpatient hospital services and for DME suppliers. NCCI_PTP and MUE are the
# practitioner ones, as they always were.
NCCI_PTP_HOSPITAL = "ncci-ptp-hospital"
MUE_HOSPITAL = "mue-hospital"
MUE_DME = "mue-dme"
ICD10PCS = "icd10pcs"
# The kinds consultant can load, in the order `codes status` lists them.
RELEASE_KINDS = (
    ICD10CM,
    ICD10PCS,
    HCPCS,
    NCCI_PTP,
    NCCI_PTP_HOSPITAL,
    MUE,
    MUE_HOSPITAL,
    MUE_DME,
    ADDON,
    PFS,
    RBCS,
    CPT_DESCRIPTORS,
)

# How each kind is named in a citation ("ICD-10-CM tabular, FY2026").
TITLES = {
    ICD10CM: "ICD-10-CM tabular",
    ICD10PCS: "ICD-10-PCS",
    HCPCS: "HCPCS Level II file",
    NCCI_PTP: "NCCI PTP edits",
    MUE: "NCCI MUEs",
    ADDON: "NCCI add-on code edits",
    PFS: "Physician fee schedule indicators",
    RBCS: "Restructured BETOS classification (RBCS)",
    CPT_DESCRIPTORS: "CPT descriptors (AMA licence)",
    NCCI_PTP_HOSPITAL: "NCCI PTP edits, hospital outpatient",
    MUE_HOSPITAL: "NCCI MUEs, facility outpatient hospital",
    MUE_DME: "NCCI MUEs, DME supplier",
}
# How people name the kinds in drafts and on the CLI ("Not loaded: NCCI MUEs").
KIND_NAMES = {
    ICD10CM: "ICD-10-CM",
    ICD10PCS: "ICD-10-PCS",
    HCPCS: "HCPCS Level II file",
    NCCI_PTP: "NCCI PTP edits",
    MUE: "NCCI MUEs",
    ADDON: "NCCI add-on code edits",
    PFS: "physician fee schedule indicators",
    RBCS: "RBCS categories",
    CPT_DESCRIPTORS: "CPT descriptors (AMA licence)",
    NCCI_PTP_HOSPITAL: "NCCI PTP edits for hospital outpatient claims",
    MUE_HOSPITAL: "NCCI MUEs for facility outpatient hospital services",
    MUE_DME: "NCCI MUEs for DME supplier services",
}

# The claim setting each edit kind applies to; kinds not named apply to every setting.
PRACTITIONER, HOSPITAL, DME = "practitioner", "hospital", "dme"
SETTING_NAMES = {PRACTITIONER: "practitioner", HOSPITAL: "hospital outpatient", DME: "DME supplier"}
SETTINGS = {
    NCCI_PTP: PRACTITIONER,
    MUE: PRACTITIONER,
    NCCI_PTP_HOSPITAL: HOSPITAL,
    MUE_HOSPITAL: HOSPITAL,
    MUE_DME: DME,
}
