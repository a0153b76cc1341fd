"""The fault campaign: real processes, injected faults, and one oracle (the total-queue ledger)."""
