"""The YAML export reads back as the same rules, whatever a rule's text holds
(paragraphs, quotes, colons, '#', long lines), and writes prose as YAML blocks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consultant.policies.rules import parse_rule
from consultant.policies.store import dump_yaml, package_rules, read_yaml

BASE = package_rules()[0]
PROSE = st.text(
    st.sampled_from(list("abcXYZ019 .,:;-#'\"!?&*|>%@\n\té")), min_size=1, max_size=400
).filter(lambda text: text.strip())


@settings(max_examples=300, deadline=None)
@given(text=PROSE, title=st.text(st.sampled_from(list("ab :#'\"-")), min_size=1).filter(str.strip))
def test_any_text_survives_an_export_and_an_import(text: str, title: str) -> None:
    rule = parse_rule({**BASE.entry(), "text": text, "title": title.replace("\n", " ")})
    assert read_yaml(dump_yaml([rule])) == [rule]


def test_the_package_library_exports_as_readable_blocks_and_reads_back() -> None:
    text = dump_yaml(package_rules())
    assert read_yaml(text) == package_rules()
    blocks = text.count("  text: >-\n") + text.count("  text: |-\n")
    assert blocks == len(package_rules())
    assert "  - modifiers: [" in text  # a condition's values on one line
