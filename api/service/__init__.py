"""The HTTP service: the FastAPI app (``app.create_app``), its routes, request and response schemas,
errors, and its access to the models (the micro-batched analysis, answers, suggestions)."""
