"""What features use beneath HTTP: live state and its follower, file storage, SMS, database readiness,
Alembic migrations. Imports no feature and nothing of web."""
