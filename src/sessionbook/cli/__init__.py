"""The `sessionbook` command line."""
