"""HTTP layer: `create_app()`, the OpenAI-compatible routes, auth, errors and SSE."""
