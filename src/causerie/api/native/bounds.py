"""Upper bounds of the numbers clients send to the native API.

Every integer that reaches the database fits its column on both backends (PostgreSQL's
INTEGER is 32-bit, SQLite's 64-bit), so no number a client can send is a 500.
"""

from __future__ import annotations

MAX_OFFSET = 2**31 - 1  # paging offsets: far beyond any real list
MAX_QUOTA = 10**9  # requests per minute, tokens per day (INTEGER columns)
