"""Value types, errors and settings shared by every layer; imports nothing of ours."""
