"""The consult pipeline: each stage is a module with one job; data moves forward only.

In the order a mail meets them: intake/ stores the raw mail (the one door in);
process.py runs, in one transaction, parse (parse.py, after the MIME limits of
limits.py), classify (classify.py, with robots.py and bounces.py), account
(account.py), extract (extract.py), lookup (lookup.py) and draft (draft.py),
writes the case's rows (casework.py) and queues automatic mail (notify.py);
a reviewer's approval (consultant/review/, outside the pipeline) writes the
outbox row; send.py delivers it. tests/unit/pipeline/test_process.py checks
that sequence.
"""
