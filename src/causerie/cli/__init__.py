"""The `causerie` command line: serve, chat, models, pull. Commands stay thin."""
