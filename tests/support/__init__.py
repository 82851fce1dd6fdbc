"""Test helpers shared by several test modules (stand-ins for outside services)."""
