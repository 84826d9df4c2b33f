"""HTTP routes: the task operations (``tasks.py``, from the task registry), health, models, the web page."""

from service.schemas import ProblemOut

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
PROBLEMS = {
    status: {"model": ProblemOut, "description": desc, "content": PROBLEM_CONTENT}
    for status, desc in (
        (400, "Malformed JSON or request (or a body that is not valid gzip)"),
        (408, "The request body did not arrive within LEXIFLOW_BODY_TIMEOUT_S (the connection is closed)"),
        (413, "Request body over the byte limit (after gzip decompression too)"),
        (415, "A body not declared as JSON (Content-Type: application/json), or an encoding other than gzip"),
        (422, "Invalid field, or a declared limit exceeded (see `limit` and `given`)"),
        (503, "Models still loading (see Retry-After)"),
    )
}
UNKNOWN_MODEL = {404: {"model": ProblemOut, "description": "the named model is not loaded", "content": PROBLEM_CONTENT}}
QUEUE = {429: {"description": "encoder queue full (see Retry-After)"},
         504: {"description": "the encoder did not answer in time"}}
