// PSPFStorage: the SQLite layer of pspf. See docs/storage.md.
//
//   SQLite/       SQLiteConnection, SQLiteStatement, SQLiteError: thin owners over the system libsqlite3
//   Database/     SerializedDatabase: one connection confined to a dedicated thread
//   Schema/       SchemaMigrator, StateSchema (the state database's tables), StorageError
//   Checkpoint/   CheckpointStore protocol, SQLiteCheckpointStore, InMemoryCheckpointStore
