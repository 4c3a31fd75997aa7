import Foundation
import PSPFStorage
import Testing

@Suite("SerializedDatabase")
struct SerializedDatabaseTests {
    /// The calling thread's pthread id (an integer on Linux).
    private static func currentThreadID() -> UInt { UInt(pthread_self()) }

    /// The calling thread's name, as the kernel reports it.
    private static func currentThreadName() -> String {
        let name = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
        return name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    @Test func asyncWorkRunsOnTheDedicatedThread() async throws {
        try await withTemporaryDirectory { dir in
            let database = try SerializedDatabase(path: "\(dir)/db.sqlite", threadName: "pspf-test-db")
            defer { try? database.close() }
            let caller = Self.currentThreadID()
            #expect(!database.isOnDatabaseThread)

            let (inside, onThread, name) = try await database.read { _ in
                (Self.currentThreadID(), database.isOnDatabaseThread, Self.currentThreadName())
            }
            #expect(onThread)
            #expect(inside != caller)
            #expect(name == "pspf-test-db")

            // Every job runs on the same thread.
            let again = try await database.write { _ in Self.currentThreadID() }
            let raw = try await database.perform { _ in Self.currentThreadID() }
            #expect(again == inside)
            #expect(raw == inside)
        }
    }

    @Test func syncRunsOnTheDedicatedThreadFromAPlainThread() throws {
        try withTemporaryDirectory { dir in
            let database = try SerializedDatabase(path: "\(dir)/db.sqlite")
            defer { try? database.close() }
            // A plain OS thread, as the libmosquitto callback thread will be.
            let result = BlockingBox<(UInt, UInt, Bool, Int64)>()
            let thread = Thread {
                let caller = Self.currentThreadID()
                let outcome = Result {
                    try database.writeSync { connection in
                        try connection.execute("CREATE TABLE t (x INTEGER)")
                        try connection.execute("INSERT INTO t VALUES (41), (1)")
                    }
                    return try database.sync { connection in
                        // Re-entering sync from the database thread runs inline instead of deadlocking.
                        let nested = try database.sync { _ in database.isOnDatabaseThread }
                        let sum = try connection.scalar("SELECT sum(x) FROM t")
                        guard case .integer(let total)? = sum else { return (caller, UInt(0), false, Int64(0)) }
                        return (caller, Self.currentThreadID(), nested, total)
                    }
                }
                result.put(outcome)
            }
            thread.start()
            let (caller, inside, nested, total) = try result.take().get()
            #expect(caller != inside)
            #expect(nested)
            #expect(total == 42)
            #expect(try database.readSync { try $0.scalar("SELECT count(*) FROM t") } == .integer(2))
        }
    }

    @Test func writeRollsBackWhenTheBodyThrows() async throws {
        struct Boom: Error {}
        try await withTemporaryDirectory { dir in
            let database = try SerializedDatabase(path: "\(dir)/db.sqlite")
            defer { try? database.close() }
            try await database.write { try $0.execute("CREATE TABLE t (x INTEGER)") }
            await #expect(throws: Boom.self) {
                try await database.write { connection in
                    try connection.execute("INSERT INTO t VALUES (1)")
                    throw Boom()
                }
            }
            #expect(try await database.read { try $0.scalar("SELECT count(*) FROM t") } == .integer(0))
        }
    }

    @Test func concurrentCallersAreSerialized() async throws {
        try await withTemporaryDirectory { dir in
            let database = try SerializedDatabase(path: "\(dir)/db.sqlite")
            defer { try? database.close() }
            try await database.write {
                try $0.execute("CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0)")
            }
            // Read-modify-write without SQL atomicity: correct only if jobs never interleave.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        try await database.write { connection in
                            guard case .integer(let n)? = try connection.scalar("SELECT n FROM counter") else { return }
                            try connection.execute("UPDATE counter SET n = ?", [.integer(n + 1)])
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await database.read { try $0.scalar("SELECT n FROM counter") } == .integer(200))
        }
    }

    @Test func closedDatabaseRefusesWork() async throws {
        try await withTemporaryDirectory { dir in
            let database = try SerializedDatabase(path: "\(dir)/db.sqlite")
            try database.close()
            try database.close()  // idempotent
            await #expect(throws: SQLiteError.self) { try await database.read { _ in 1 } }
            let error = #expect(throws: SQLiteError.self) { try database.sync { _ in 1 } }
            #expect(error?.code == .misuse)
            #expect(error?.message.contains("closed") == true)
        }
    }

    @Test func openFailureIsThrownAndTheThreadEnds() throws {
        #expect(throws: SQLiteError.self) { try SerializedDatabase(path: "/nonexistent-pspf-dir/db.sqlite") }
    }
}

/// A one-slot hand-off from a plain thread to the test.
final class BlockingBox<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Result<T, any Error>?

    func put(_ value: Result<T, any Error>) {
        condition.lock()
        self.value = value
        condition.signal()
        condition.unlock()
    }

    func take() -> Result<T, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
