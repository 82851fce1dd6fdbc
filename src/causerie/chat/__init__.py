"""ChatService: conversation -> prompt -> engine -> persisted reply (no HTTP here)."""
