"""Causerie: an open-source ChatGPT you own — chat app, OpenAI-compatible API and engine."""

__version__ = "0.1.0"
