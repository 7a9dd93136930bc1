"""The pre-exam identity check (rule 9): face-capture consent, the liveness check, manual verification,
the gate a start must pass."""
