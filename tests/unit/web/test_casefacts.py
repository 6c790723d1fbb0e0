"""The case page's reading of a fact sheet: verdict lines and codes, worst first."""

from __future__ import annotations

from consultant.web.casefacts import code_sheets, sorted_findings, verdict_lines

SOURCE = {"cite": "NCCI PTP practitioner 2024Q3", "short": "PTP 2024Q3"}


def test_each_verdict_kind_reads_as_its_decision_with_a_tone() -> None:
    sheet = {
        "verdicts": [
            {
                "kind": "pair",
                "codes": ["20700", "27447"],
                "edit": True,
                "column1": "27447",
                "column2": "20700",
                "modifier_indicator": "0",
                "modifier": None,
                "stale": False,
                "sources": ["NCCI PTP 2024Q3"],
            },
            {"kind": "pair", "codes": ["20610", "99214"], "edit": False, "stale": True},
            {
                "kind": "em_procedure",
                "em": "99214",
                "procedure": "20610",
                "modifier": "25",
                "global": "000",
            },
            {"kind": "addon", "code": "20930", "ok": False, "primaries_in_question": []},
            {"kind": "units", "code": "J1100", "units": 12, "mue": 10, "over": True},
            {
                "kind": "validity",
                "code": "0001U",
                "valid": False,
                "ended": "2023-12-31",
                "replaced_by": ["0002U"],
            },
        ]
    }
    lines = verdict_lines(sheet)
    said = [(line.text, line.tone) for line in lines]
    assert said == [
        ("PTP edit: 20700 column 2 to 27447, no modifier bypasses it", "error"),
        ("No PTP edit: 20610 + 99214", "ok"),
        ("E/M 99214 with 20610 (000-day global): modifier 25 on the E/M", "warning"),
        ("Add-on 20930 without a listed primary", "error"),
        ("J1100, 12 unit(s): over the MUE of 10", "error"),
        ("0001U not valid on the date of service, ended 2023-12-31; replaced by 0002U", "error"),
    ]
    assert lines[0].sources == ("NCCI PTP 2024Q3",) and lines[1].stale and not lines[0].stale
    assert verdict_lines(None) == [] and verdict_lines({"verdicts": None}) == []


def test_codes_with_the_worst_findings_come_first_and_notes_split_by_origin() -> None:
    fact = lambda text: {"topic": "note", "text": text, "source": SOURCE}  # noqa: E731
    sheet = {
        "codes": [
            {
                "code": "99214",
                "system": "cpt",
                "status": "valid",
                "description": "",
                "facts": [fact("global period XXX")],
            },
            {
                "code": "M86.161",
                "system": "icd10cm",
                "status": "billable",
                "description": "d",
                "facts": [
                    fact("Excludes1: own note"),
                    fact("Use additional code (from M86): x"),
                    fact("Excludes2 (from chapter 13): y"),
                ],
            },
            {"code": "20700", "system": "cpt", "status": "valid", "description": "", "facts": []},
        ],
        "findings": [
            {"severity": "warning", "codes": ["M86.161"], "text": "w", "source": SOURCE},
            {"severity": "error", "codes": ["20700", "27447"], "text": "e", "source": SOURCE},
            {"severity": "info", "codes": ["99214"], "text": "i", "source": SOURCE},
        ],
    }
    sheets = code_sheets(sheet)
    assert [(s.code, s.severity) for s in sheets] == [
        ("20700", "error"),
        ("M86.161", "warning"),
        ("99214", "info"),
    ]
    icd = sheets[1]
    assert [f["text"] for f in icd.own] == ["Excludes1: own note"]
    assert [f["text"] for f in icd.inherited] == ["Use additional code (from M86): x"]
    assert [f["text"] for f in icd.chapter] == ["Excludes2 (from chapter 13): y"]
    assert [f["severity"] for f in sorted_findings(sheet)] == ["error", "warning", "info"]
