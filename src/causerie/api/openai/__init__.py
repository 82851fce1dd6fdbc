"""The OpenAI-compatible API: pure pydantic protocol models and thin routes."""
