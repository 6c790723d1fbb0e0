"""Fuzzing: mutated real mail through the pipeline and raw SMTP sessions through intake."""
