"""Causerie's own `/api/*` routes for the web app: accounts, keys, admin, conversations."""
