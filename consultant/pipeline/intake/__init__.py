"""Intake: the ways mail comes in. Every one of them goes through store.store_raw."""
