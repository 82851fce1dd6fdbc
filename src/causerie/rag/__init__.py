"""Documents: loading, chunking, indexing and retrieval (no HTTP, no engine internals)."""
