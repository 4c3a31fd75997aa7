import Foundation
import PSPFLog
import PSPFMQTT
import PSPFTesting
import Testing

@testable import PSPFConnectors

/// De-duplication: the rule in docs/ingest.md, the horizon, and the rebuild from the log's tail.
@Suite(.timeLimit(.minutes(1))) struct DedupTests {
    let horizon: Duration = .seconds(60)

    func configuration(_ identity: Deduplication.Identity = .keyAndEventTime, maxEntries: Int = 1_000) -> MQTTIngestConfiguration {
        var configuration = MQTTIngestConfiguration(topicFilters: ["sensors/+/reading"], key: .topicSegment(1))
        configuration.eventTime = EventTimeField("ts")
        configuration.deduplication = Deduplication(identity: identity, horizon: horizon, maxEntries: maxEntries)
        return configuration
    }

    /// Opens the log in `directory` with the test clock, runs `body` with a new handler (which
    /// rebuilds its state from the log), closes the log: one "process lifetime".
    func lifetime<T>(
        _ directory: String, clock: TestLogClock, _ configuration: MQTTIngestConfiguration,
        _ body: (MQTTIngestHandler, LogTopic) throws -> T
    ) throws -> T {
        let log = try PartitionedLog(directory: directory, clock: clock.logClock, logger: testLogger)
        defer { try? log.close() }
        let input = try log.topic("input", config: TopicConfig(partitions: 3, fsync: .every))
        let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .every))
        let handler = try MQTTIngestHandler(
            configuration: configuration, input: input, deadLetters: deadLetters, clock: clock.logClock, logger: testLogger)
        return try body(handler, input)
    }

    func send(_ handler: MQTTIngestHandler, devices: Range<Int>, ts: Range<Int64>, topic: String = "reading") throws {
        for t in ts {
            for device in devices {
                handler.receive("sensors/dev-\(device)/\(topic)", readingPayload(device: "dev-\(device)", ts: t, seq: Int(t)))
            }
        }
        try handler.readPhaseEnded()
    }

    @Test("Same topic, key and event time is a duplicate; another topic, key or time is not")
    func rule() async throws {
        try await withTemporaryDirectory { directory in
            let clock = TestLogClock()
            try lifetime(directory, clock: clock, configuration()) { handler, input in
                handler.receive("sensors/a/reading", #"{"ts":1,"v":1}"#)
                handler.receive("sensors/a/reading", #"{"ts":1,"v":2}"#)    // same key and time: duplicate
                handler.receive("sensors/a/reading", #"{"ts":2,"v":1}"#)
                handler.receive("sensors/b/reading", #"{"ts":1,"v":1}"#)
                handler.receive("sensors/a/status", #"{"ts":1,"v":1}"#)     // other topic
                handler.receive("sensors/a/reading", #"{"v":1}"#)           // no event time: never a duplicate
                handler.receive("sensors/a/reading", #"{"v":1}"#)
                handler.receive("sensors/a/reading", #"{"ts":"not a time"}"#)
                handler.receive("sensors/a/reading", #"{"ts":"not a time"}"#)
                try handler.readPhaseEnded()
                let stats = handler.stats
                #expect(stats.duplicates == 1)
                #expect(stats.appended == 8)
                #expect(try readAll(input).count == 8)
            }
        }
    }

    @Test("After a restart the state is rebuilt from the log tail: redelivered messages are duplicates")
    func acrossRestart() async throws {
        try await withTemporaryDirectory { directory in
            let clock = TestLogClock()
            try lifetime(directory, clock: clock, configuration()) { handler, _ in
                try send(handler, devices: 0..<5, ts: 0..<20)
                #expect(handler.stats.appended == 100)
            }
            clock.advance(milliseconds: 3_600_000)   // down for an hour: does not count against the horizon
            try lifetime(directory, clock: clock, configuration()) { handler, input in
                #expect(handler.rebuildReport.entriesLoaded == 100)
                #expect(handler.stats.dedupEntriesRebuilt == 100)
                try send(handler, devices: 0..<5, ts: 10..<25)   // 50 redelivered, 25 new
                let stats = handler.stats
                #expect(stats.duplicates == 50)
                #expect(stats.appended == 25)
                #expect(try readAll(input).count == 125)
            }
        }
    }

    @Test("Entries expire after the horizon of append time")
    func horizonExpiry() async throws {
        try await withTemporaryDirectory { directory in
            let clock = TestLogClock()
            try lifetime(directory, clock: clock, configuration()) { handler, _ in
                try send(handler, devices: 0..<2, ts: 0..<5)
                clock.advance(milliseconds: 59_000)
                try send(handler, devices: 0..<2, ts: 0..<1)            // within the horizon: duplicates
                #expect(handler.stats.duplicates == 2)
                clock.advance(milliseconds: 2_000)
                try send(handler, devices: 2..<3, ts: 0..<1)            // a new message evicts the expired ones
                try send(handler, devices: 0..<2, ts: 0..<5)            // forgotten: appended again
                #expect(handler.stats.duplicates == 2)
                #expect(handler.stats.appended == 10 + 1 + 10)
            }
        }
    }

    @Test("The rebuild loads only the horizon before the newest record, and at most maxEntries")
    func rebuildBounds() async throws {
        try await withTemporaryDirectory { directory in
            let clock = TestLogClock()
            try lifetime(directory, clock: clock, configuration(maxEntries: 30)) { handler, _ in
                try send(handler, devices: 0..<4, ts: 0..<5)        // 20 old ones
                clock.advance(milliseconds: 61_000)
                for ts: Int64 in 100..<105 {                        // 20 recent ones, 1 ms apart per round
                    try send(handler, devices: 0..<4, ts: ts..<(ts + 1))
                    clock.advance(milliseconds: 1)
                }
                #expect(handler.stats.dedupEntries == 20, "the old ones expired when the new ones came")
            }
            try lifetime(directory, clock: clock, configuration(maxEntries: 30)) { handler, _ in
                #expect(handler.rebuildReport.entriesLoaded == 20)
                try send(handler, devices: 0..<4, ts: 100..<105)
                #expect(handler.stats.duplicates == 20)
            }
            try lifetime(directory, clock: clock, configuration(maxEntries: 8)) { handler, _ in
                #expect(handler.rebuildReport.entriesLoaded == 8)
                try send(handler, devices: 0..<4, ts: 103..<105)     // the newest 8
                #expect(handler.stats.duplicates == 8)
                try send(handler, devices: 0..<4, ts: 100..<101)     // older: forgotten
                #expect(handler.stats.duplicates == 8)
                #expect(handler.stats.dedupEntries == 8)
            }
        }
    }

    @Test("A message-id field or the payload bytes as identity, rebuilt from the log too", arguments: [
        Deduplication.Identity.payloadField("seq"), .payloadBytes,
    ])
    func otherIdentities(identity: Deduplication.Identity) async throws {
        try await withTemporaryDirectory { directory in
            let clock = TestLogClock()
            try lifetime(directory, clock: clock, configuration(identity)) { handler, _ in
                handler.receive("sensors/a/reading", #"{"seq":"m-1","ts":1}"#)
                handler.receive("sensors/a/reading", #"{"seq":"m-1","ts":1}"#)
                handler.receive("sensors/a/reading", #"{"seq":"m-2","ts":1}"#)
                handler.receive("sensors/a/reading", #"{"ts":1}"#)
                try handler.readPhaseEnded()
                let expectedDuplicates: Int64 = identity == .payloadBytes ? 1 : 1
                #expect(handler.stats.duplicates == expectedDuplicates)
                #expect(handler.stats.appended == 3)
            }
            try lifetime(directory, clock: clock, configuration(identity)) { handler, _ in
                handler.receive("sensors/a/reading", #"{"seq":"m-2","ts":1}"#)
                handler.receive("sensors/a/reading", #"{"ts":1}"#)
                try handler.readPhaseEnded()
                // Without the id field the message is appended again under .payloadField; under
                // .payloadBytes the identical payload is a duplicate.
                #expect(handler.stats.duplicates == (identity == .payloadBytes ? 2 : 1))
            }
        }
    }

    @Test("Disabled de-duplication appends everything")
    func disabled() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = configuration()
            configuration.deduplication = .disabled
            try lifetime(directory, clock: TestLogClock(), configuration) { handler, _ in
                try send(handler, devices: 0..<2, ts: 0..<3)
                try send(handler, devices: 0..<2, ts: 0..<3)
                #expect(handler.stats.appended == 12 && handler.stats.duplicates == 0 && handler.stats.dedupEntries == 0)
            }
        }
    }

    @Test("The index: eviction by count and time, removal, and re-insertion after removal")
    func index() {
        var index = DedupIndex(horizonMilliseconds: 100, maxEntries: 3)
        let prints = (0..<5).map { Fingerprint(a: UInt64($0), b: UInt64($0) &* 31) }
        for (i, print) in prints.prefix(3).enumerated() { index.insert(print, time: Int64(i)) }
        #expect(index.count == 3)
        index.insert(prints[3], time: 3)
        #expect(!index.contains(prints[0]) && index.contains(prints[1]) && index.count == 3)
        index.remove(prints[2])
        index.insert(prints[2], time: 4)     // re-inserted: the stale ring entry must not evict it later
        index.insert(prints[4], time: 5)
        #expect(index.contains(prints[2]) && index.contains(prints[4]))
        index.evict(now: 104)
        #expect(index.contains(prints[2]) && !index.contains(prints[3]))
        index.evict(now: 200)
        #expect(index.count == 0)
        #expect(Fingerprint(a: 1, b: 2) != Fingerprint(a: 1, b: 3))
    }
    /// The index against a plain model (a dictionary from fingerprint to its newest append
    /// sequence, plus the FIFO of appends) over 20,000 seeded random operations: inserts of new
    /// and remembered fingerprints, removals, evictions by time and by count. Fingerprints share
    /// their low bits often, so probe runs are long and deletions shift them; the ring wraps and
    /// grows.
    @Test("The index behaves like the model: inserts, removals, time and count eviction, collisions")
    func indexMatchesModel() {
        struct Model {
            let horizon: Int64
            let maxEntries: Int
            var fifo: [(print: Fingerprint, time: Int64, sequence: Int)] = []
            var live: [Fingerprint: Int] = [:]
            var sequence = 0
            var newest = Int64.min
            mutating func evict(now: Int64, making room: Int) {
                while let front = fifo.first, fifo.count + room > maxEntries || front.time < now &- horizon {
                    if live[front.print] == front.sequence { live[front.print] = nil }
                    fifo.removeFirst()
                }
            }
            mutating func insert(_ print: Fingerprint, time: Int64) {
                let time = max(time, newest)
                newest = time
                evict(now: time, making: 1)
                fifo.append((print, time, sequence))
                live[print] = sequence
                sequence += 1
            }
        }
        var state: UInt64 = 0xC0FF_EE00
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        for (horizon, maxEntries) in [(Int64(50), 40), (Int64(1_000_000), 300), (Int64(400), 2_000)] {
            var index = DedupIndex(horizonMilliseconds: horizon, maxEntries: maxEntries)
            var model = Model(horizon: horizon, maxEntries: maxEntries)
            // 600 distinct fingerprints; low bits drawn from only 64 values (long probe runs).
            let prints = (0..<600).map { i in
                Fingerprint(a: (next() << 6) | UInt64(i % 64), b: UInt64(i))
            }
            var time: Int64 = 0
            for step in 0..<20_000 {
                time += Int64(next() % 3)
                let print = prints[Int(next() % UInt64(prints.count))]
                switch next() % 10 {
                case 0..<6:
                    if !index.contains(print) {
                        index.insert(print, time: time)
                        model.insert(print, time: time)
                    }
                case 6..<8:
                    index.remove(print)
                    model.live[print] = nil
                case 8:
                    index.evict(now: time)
                    model.evict(now: time, making: 0)
                default:
                    index.insert(print, time: time)  // a fingerprint that may already be remembered
                    model.insert(print, time: time)
                }
                if step % 97 == 0 || step == 19_999 {
                    #expect(index.count == model.live.count, "step \(step)")
                    for candidate in prints where index.contains(candidate) != (model.live[candidate] != nil) {
                        Issue.record("step \(step): \(candidate) differs from the model")
                        return
                    }
                }
            }
        }
    }
}
