"""question_bank."""
