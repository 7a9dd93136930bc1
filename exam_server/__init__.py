"""exam_server."""
