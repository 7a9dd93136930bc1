"""Question banks: banks, questions, papers, import jobs, and their pages."""
