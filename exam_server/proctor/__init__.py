"""Proctored attempts (rule 9): consent, the pre-exam identity check, frames and browser events during
an attempt, invigilation and review. Face analysis itself is the ``proctoring`` library's."""
