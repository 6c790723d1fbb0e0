"""The answer engine: the verdicts a coding question needs, decided from the loaded
code data, and the proposed answer that states them first.

- `question`: the question read as claim lines and cues (pure);
- `verdicts`: one verdict kind at a time, over the CMS rows of the question's codes;
- `engine`: which verdicts a question needs, and the answer text.

`consultant answer FILE.eml --json` prints them (the contract of
../shared/corpus/questions-dev/ANSWERS.md); benchmarks/answer_accuracy.py scores it.
"""
