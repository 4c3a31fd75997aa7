// SQLite connection and statement owners, state backend and checkpoint store. See docs/storage.md.
