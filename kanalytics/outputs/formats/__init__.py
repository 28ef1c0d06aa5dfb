"""One audit Event or one Finding as the document another system expects (pure functions, no I/O)."""
