"""lexiflow service: the FastAPI app factory, settings, schemas, routes, errors and metrics."""
