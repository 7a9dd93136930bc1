"""Proctored attempts (rule 9): frames and browser events during an attempt, invigilation and review (the
pre-exam identity check is identity/). Face analysis itself is the ``proctoring`` library's."""
