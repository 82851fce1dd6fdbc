"""Causerie's own engine on llama.cpp's C API: one decode thread, continuous batching,
per-slot KV-cache reuse. The only package that imports `llama_cpp`."""
