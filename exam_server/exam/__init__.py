"""The exam engine: schedules, attempts, answers, the server-owned clock and results (rule 8)."""
