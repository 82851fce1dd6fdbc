"""Persistence: SQLAlchemy tables, repositories and migrations (SQLite or PostgreSQL)."""
