"""Demo data for `dingkao demo` and the demo SMS outbox page."""
