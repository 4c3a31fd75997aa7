/// The schema of the pspf state database (see docs/storage.md for the tables and why).
public enum StateSchema {
    /// `PRAGMA application_id` of state databases: "PSPF" in ASCII.
    public static let applicationID: Int32 = 0x5053_5046

    /// The migrator with every state schema version, oldest first. Append; never edit a shipped step.
    public static let migrator = SchemaMigrator(
        label: "state database",
        applicationID: applicationID,
        migrations: [
            .sql(version: 1, name: "checkpoint store", version1)
        ]
    )

    /// The schema version this build writes.
    public static var latestVersion: Int { migrator.latestVersion }

    static let version1 = """
        CREATE TABLE checkpoint (
            id              INTEGER PRIMARY KEY,
            started_ms      INTEGER NOT NULL,
            finished_ms     INTEGER NOT NULL,
            duration_us     INTEGER NOT NULL CHECK (duration_us >= 0),
            bytes_written   INTEGER NOT NULL CHECK (bytes_written >= 0),
            state_upserts   INTEGER NOT NULL,
            state_deletes   INTEGER NOT NULL,
            input_offsets   INTEGER NOT NULL,
            output_log_ends INTEGER NOT NULL,
            sink_offsets    INTEGER NOT NULL,
            dedup_inserts   INTEGER NOT NULL,
            dedup_pruned    INTEGER NOT NULL
        ) STRICT;

        -- One row per (pipeline, partition, operator): state rows refer to it by a small integer,
        -- which keeps the prefix out of every state row and every b-tree comparison.
        CREATE TABLE state_slot (
            id        INTEGER PRIMARY KEY,
            pipeline  TEXT    NOT NULL,
            partition INTEGER NOT NULL CHECK (partition >= 0),
            operator  TEXT    NOT NULL,
            UNIQUE (pipeline, partition, operator)
        ) STRICT;

        CREATE TABLE state (
            slot      INTEGER NOT NULL REFERENCES state_slot (id),
            key       BLOB    NOT NULL,
            namespace BLOB    NOT NULL,
            value     BLOB    NOT NULL,
            PRIMARY KEY (slot, key, namespace)
        ) STRICT, WITHOUT ROWID;

        -- The state as (pipeline, partition, operator, key, namespace, value), for people with sqlite3.
        CREATE VIEW state_rows AS
            SELECT s.pipeline, s.partition, s.operator, t.key, t.namespace, t.value
            FROM state_slot AS s JOIN state AS t ON t.slot = s.id;

        CREATE TABLE input_offset (
            pipeline    TEXT    NOT NULL,
            topic       TEXT    NOT NULL,
            partition   INTEGER NOT NULL CHECK (partition >= 0),
            next_offset INTEGER NOT NULL CHECK (next_offset >= 0),
            PRIMARY KEY (pipeline, topic, partition)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE output_log_end (
            topic      TEXT    NOT NULL,
            partition  INTEGER NOT NULL CHECK (partition >= 0),
            end_offset INTEGER NOT NULL CHECK (end_offset >= 0),
            PRIMARY KEY (topic, partition)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE sink_offset (
            sink             TEXT    NOT NULL PRIMARY KEY,
            delivered_offset INTEGER NOT NULL CHECK (delivered_offset >= 0),
            file_position    BLOB
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE dedup (
            source        TEXT    NOT NULL,
            dedup_key     BLOB    NOT NULL,
            event_time_ms INTEGER NOT NULL,
            PRIMARY KEY (source, dedup_key)
        ) STRICT, WITHOUT ROWID;

        CREATE INDEX dedup_by_event_time ON dedup (source, event_time_ms);
        """
}
