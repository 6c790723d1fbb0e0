"""What the fuzz tests and benchmarks/fuzz.py share: mutators, seeds, the SMTP
model and drivers. The tests are beside this folder."""
