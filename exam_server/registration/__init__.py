"""Registration: the five steps, uploads and the photo check, reviews, exemptions, departments, transfers,
physician lists."""
