"""The HTTP edge every feature shares: endpoint declarations and OpenAPI, the router, sessions, errors,
templates, static files. Imports no feature."""
