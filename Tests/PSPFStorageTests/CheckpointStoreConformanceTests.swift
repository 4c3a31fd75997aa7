import PSPFStorage
import Testing

/// The store implementations under test. Every conformance test runs against each.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory
    case sqlite

    var testDescription: String { rawValue }

    static let fixedWallClock: Int64 = 1_700_000_000_000

    static func options(historyLimit: Int = 100) -> CheckpointStoreOptions {
        var options = CheckpointStoreOptions()
        options.historyLimit = historyLimit
        options.wallClockMs = { fixedWallClock }
        return options
    }

    func withStore<T>(
        _ options: CheckpointStoreOptions = StoreKind.options(), _ body: (any CheckpointStore) throws -> T
    ) throws -> T {
        switch self {
        case .inMemory:
            return try body(InMemoryCheckpointStore(options: options))
        case .sqlite:
            return try withTemporaryDirectory { dir in
                var configuration = SQLiteCheckpointStore.Configuration()
                configuration.options = options
                let store = try SQLiteCheckpointStore(path: "\(dir)/state.db", configuration: configuration)
                defer { try? store.close() }
                return try body(store)
            }
        }
    }

    func withStore<T>(
        _ options: CheckpointStoreOptions = StoreKind.options(), _ body: (any CheckpointStore) async throws -> T
    ) async throws -> T {
        switch self {
        case .inMemory:
            return try await body(InMemoryCheckpointStore(options: options))
        case .sqlite:
            return try await withTemporaryDirectory { dir in
                var configuration = SQLiteCheckpointStore.Configuration()
                configuration.options = options
                let store = try SQLiteCheckpointStore(path: "\(dir)/state.db", configuration: configuration)
                defer { try? store.close() }
                return try await body(store)
            }
        }
    }
}

private func entry(
    _ pipeline: String = "p", _ partition: Int = 0, _ op: String = "agg", key: String, ns: [UInt8] = [], value: [UInt8]
) -> StateEntry {
    StateEntry(
        pipeline: pipeline, partition: partition, operatorID: op, key: Array(key.utf8), namespace: ns, value: value)
}

/// The conformance suite every ``CheckpointStore`` must pass.
@Suite("CheckpointStore conformance")
struct CheckpointStoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func anEmptyStoreHasNothing(kind: StoreKind) throws {
        try kind.withStore { store in
            #expect(try store.loadLatest() == RecoveredState())
            #expect(try store.latestCheckpoint() == nil)
            var seen = 0
            try store.forEachStateEntry(pipeline: "p", partition: 0) { _ in seen += 1 }
            #expect(seen == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func upsertsAreLoadedInStorageOrder(kind: StoreKind) throws {
        try kind.withStore { store in
            let rows = [
                entry("q", 1, "count", key: "b", value: [1]),
                entry("p", 1, "avg", key: "a", ns: [0, 10], value: [2]),
                entry("p", 0, "avg", key: "z", value: [3]),
                entry("p", 0, "avg", key: "a", ns: [0, 20], value: [4]),
                entry("p", 0, "avg", key: "a", ns: [0, 10], value: [5]),  // same key, another window
                entry("p", 0, "avg", key: "a", ns: [], value: []),  // empty namespace and value
                entry("p", 0, "max", key: "a", value: [7]),
            ]
            try store.commit(CheckpointDelta(stateUpserts: rows))
            let recovered = try store.loadLatest()
            #expect(
                recovered.state.map(\.value) == [[], [5], [4], [3], [7], [2], [1]],
                "ordered by pipeline, partition, operator, key, namespace"
            )
            #expect(Set(recovered.state) == Set(rows))

            var partition0: [StateEntry] = []
            try store.forEachStateEntry(pipeline: "p", partition: 0) { partition0.append($0) }
            #expect(partition0 == recovered.state(pipeline: "p", partition: 0))
            #expect(partition0.count == 5)
            var partition1: [StateEntry] = []
            try store.forEachStateEntry(pipeline: "p", partition: 1) { partition1.append($0) }
            #expect(partition1.map(\.value) == [[2]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func upsertsReplaceAndDeletesRemove(kind: StoreKind) throws {
        try kind.withStore { store in
            let a = entry(key: "a", value: [1])
            let b = entry(key: "b", value: [2])
            let c = entry(key: "c", value: [3])
            try store.commit(CheckpointDelta(stateUpserts: [a, b, c]))
            try store.commit(
                CheckpointDelta(
                    stateUpserts: [entry(key: "b", value: [20, 20])],
                    stateDeletes: [a.key, entry(key: "never-stored", value: []).key]
                ))
            #expect(try store.loadLatest().state == [entry(key: "b", value: [20, 20]), c])

            // Within one delta: deletes first, then upserts; later upserts win.
            try store.commit(
                CheckpointDelta(
                    stateUpserts: [entry(key: "c", value: [30]), entry(key: "c", value: [31])],
                    stateDeletes: [c.key, b.key]
                ))
            #expect(try store.loadLatest().state == [entry(key: "c", value: [31])])

            // A delete must match the namespace too.
            try store.commit(CheckpointDelta(stateDeletes: [entry(key: "c", ns: [1], value: []).key]))
            #expect(try store.loadLatest().state.count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func offsetsEndsAndSinkPositions(kind: StoreKind) throws {
        try kind.withStore { store in
            try store.commit(
                CheckpointDelta(
                    inputOffsets: [
                        InputOffset(pipeline: "p", topic: "sensors", partition: 1, nextOffset: 10),
                        InputOffset(pipeline: "p", topic: "sensors", partition: 0, nextOffset: 7),
                        InputOffset(pipeline: "a", topic: "sensors", partition: 0, nextOffset: 0),
                    ],
                    outputLogEnds: [OutputLogEnd(topic: "p-out", partition: 0, endOffset: 3)],
                    sinkOffsets: [
                        SinkOffset(sink: "mqtt", deliveredOffset: 2),
                        SinkOffset(sink: "file", deliveredOffset: 1, filePosition: [0, 0, 0, 42]),
                    ]
                ))
            try store.commit(
                CheckpointDelta(
                    inputOffsets: [InputOffset(pipeline: "p", topic: "sensors", partition: 0, nextOffset: 12)],
                    outputLogEnds: [OutputLogEnd(topic: "p-out", partition: 0, endOffset: 9)],
                    sinkOffsets: [
                        SinkOffset(sink: "file", deliveredOffset: 5, filePosition: []),
                        SinkOffset(sink: "mqtt", deliveredOffset: 4, filePosition: nil),
                    ]
                ))
            let recovered = try store.loadLatest()
            #expect(
                recovered.inputOffsets == [
                    InputOffset(pipeline: "a", topic: "sensors", partition: 0, nextOffset: 0),
                    InputOffset(pipeline: "p", topic: "sensors", partition: 0, nextOffset: 12),
                    InputOffset(pipeline: "p", topic: "sensors", partition: 1, nextOffset: 10),
                ]
            )
            #expect(recovered.nextOffset(pipeline: "p", topic: "sensors", partition: 0) == 12)
            #expect(recovered.nextOffset(pipeline: "p", topic: "other", partition: 0) == nil)
            #expect(recovered.outputLogEnds == [OutputLogEnd(topic: "p-out", partition: 0, endOffset: 9)])
            #expect(recovered.endOffset(topic: "p-out", partition: 0) == 9)
            #expect(
                recovered.sinkOffsets == [
                    SinkOffset(sink: "file", deliveredOffset: 5, filePosition: []),  // empty, not nil
                    SinkOffset(sink: "mqtt", deliveredOffset: 4, filePosition: nil),
                ]
            )
        }
    }

    @Test(arguments: StoreKind.allCases)
    func dedupEntriesAreInsertedAndPrunedByHorizon(kind: StoreKind) throws {
        try kind.withStore { store in
            let first = try store.commit(
                CheckpointDelta(dedupInserts: [
                    DedupEntry(source: "mqtt", key: [1], eventTimeMs: 100),
                    DedupEntry(source: "mqtt", key: [2], eventTimeMs: 200),
                    DedupEntry(source: "mqtt", key: [3], eventTimeMs: 300),
                    DedupEntry(source: "http", key: [1], eventTimeMs: 100),
                ]))
            #expect(first.counts.dedupInserts == 4)
            #expect(first.counts.dedupPruned == 0)

            // Re-seeing a key moves its time; the prune only touches its own source, strictly before the horizon.
            let second = try store.commit(
                CheckpointDelta(
                    dedupInserts: [
                        DedupEntry(source: "mqtt", key: [1], eventTimeMs: 250),
                        DedupEntry(source: "mqtt", key: [0], eventTimeMs: 50),  // already behind the horizon
                    ],
                    dedupPrunes: [
                        DedupPrune(source: "mqtt", horizonMs: 250), DedupPrune(source: "none", horizonMs: 1_000),
                    ]
                ))
            #expect(second.counts.dedupPruned == 2)  // [0] at 50 and [2] at 200
            #expect(
                try store.loadLatest().dedupEntries == [
                    DedupEntry(source: "http", key: [1], eventTimeMs: 100),
                    DedupEntry(source: "mqtt", key: [1], eventTimeMs: 250),
                    DedupEntry(source: "mqtt", key: [3], eventTimeMs: 300),
                ]
            )
            let third = try store.commit(CheckpointDelta(dedupPrunes: [DedupPrune(source: "mqtt", horizonMs: .max)]))
            #expect(third.counts.dedupPruned == 2)
            #expect(try store.loadLatest().dedupEntries.map(\.source) == ["http"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func checkpointsAreNumberedAndDescribed(kind: StoreKind) throws {
        try kind.withStore(StoreKind.options(historyLimit: 2)) { store in
            let delta = CheckpointDelta(
                stateUpserts: [entry(key: "abc", ns: [1, 2], value: Array(repeating: 9, count: 10))],
                stateDeletes: [entry(key: "x", value: []).key],
                inputOffsets: [InputOffset(pipeline: "p", topic: "t", partition: 0, nextOffset: 1)],
                outputLogEnds: [OutputLogEnd(topic: "o", partition: 0, endOffset: 1)],
                sinkOffsets: [SinkOffset(sink: "f", deliveredOffset: 1, filePosition: [1, 2, 3, 4])],
                dedupInserts: [DedupEntry(source: "s", key: [1, 2, 3, 4, 5], eventTimeMs: 1)]
            )
            let first = try store.commit(delta)
            #expect(first.id == 1)
            #expect(first.startedAtMs == StoreKind.fixedWallClock)
            #expect(first.finishedAtMs == StoreKind.fixedWallClock)
            #expect(first.bytesWritten == 3 + 2 + 10 + 4 + 5)
            #expect(first.bytesWritten == delta.payloadBytes)
            #expect(
                first.counts
                    == CheckpointInfo.Counts(
                        stateUpserts: 1, stateDeletes: 1, inputOffsets: 1, outputLogEnds: 1, sinkOffsets: 1,
                        dedupInserts: 1, dedupPruned: 0
                    )
            )
            #expect(first.commitDuration != nil)

            #expect(try store.commit(CheckpointDelta()).id == 2)  // an empty checkpoint is still one
            let third = try store.commit(CheckpointDelta())
            #expect(third.id == 3)  // numbering continues past the history limit
            let latest = try #require(try store.latestCheckpoint())
            #expect(latest.id == 3)
            #expect(latest.counts == CheckpointInfo.Counts())
            #expect(latest.commitDuration == nil)
            #expect(try store.loadLatest().checkpoint == latest)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anInvalidDeltaChangesNothing(kind: StoreKind) throws {
        try kind.withStore { store in
            try store.commit(
                CheckpointDelta(
                    stateUpserts: [entry(key: "a", value: [1])],
                    inputOffsets: [InputOffset(pipeline: "p", topic: "t", partition: 0, nextOffset: 5)]
                ))
            let before = try store.loadLatest()

            let invalid: [CheckpointDelta] = [
                CheckpointDelta(
                    stateUpserts: [entry(key: "a", value: [2]), entry(key: "b", value: [3])],
                    inputOffsets: [InputOffset(pipeline: "p", topic: "t", partition: 0, nextOffset: 9)],
                    sinkOffsets: [SinkOffset(sink: "s", deliveredOffset: -1)]
                ),
                CheckpointDelta(inputOffsets: [InputOffset(pipeline: "p", topic: "t", partition: 0, nextOffset: -5)]),
                CheckpointDelta(outputLogEnds: [OutputLogEnd(topic: "o", partition: -1, endOffset: 0)]),
                CheckpointDelta(stateUpserts: [entry("p", -3, key: "a", value: [])]),
            ]
            for delta in invalid {
                let error = expectStorageError(.invalidDelta) { try store.commit(delta) }
                #expect(error?.message.contains("nothing was written") == true)
            }
            #expect(try store.loadLatest() == before)
            #expect(try store.commit(CheckpointDelta()).id == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func stringsAndBytesSortBytewise(kind: StoreKind) throws {
        try kind.withStore { store in
            let pipelines = ["z", "é", "Z", "a", "e\u{301}"]  // "é" precomposed and decomposed differ as bytes
            let keys: [[UInt8]] = [[0xFF], [0x00, 0x01], [0x00], [], [0x7F]]
            var rows: [StateEntry] = []
            for pipeline in pipelines {
                for key in keys {
                    rows.append(StateEntry(pipeline: pipeline, partition: 0, operatorID: "o", key: key, value: [1]))
                }
            }
            try store.commit(CheckpointDelta(stateUpserts: rows))
            let state = try store.loadLatest().state
            #expect(state.count == 25)
            var pipelineOrder: [String] = []
            for row in state where pipelineOrder.last != row.key.pipeline { pipelineOrder.append(row.key.pipeline) }
            #expect(pipelineOrder == ["Z", "a", "e\u{301}", "z", "é"])
            #expect(state.prefix(5).map(\.key.key) == [[], [0x00], [0x00, 0x01], [0x7F], [0xFF]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func asyncOperationsMatchTheSynchronousOnes(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let info = try await store.commit(
                CheckpointDelta(
                    stateUpserts: [entry(key: "k", value: [1, 2])],
                    outputLogEnds: [OutputLogEnd(topic: "o", partition: 2, endOffset: 8)]
                ))
            #expect(info.id == 1)
            let recovered = try await store.loadLatest()
            #expect(recovered.state == [entry(key: "k", value: [1, 2])])
            #expect(recovered.endOffset(topic: "o", partition: 2) == 8)
            #expect(recovered.checkpoint?.id == 1)
        }
    }

    /// Both stores, fed the same random history, end in the same state.
    @Test func storesAgreeOnARandomHistory() throws {
        var results: [RecoveredState] = []
        for kind in StoreKind.allCases {
            var generator = SplitMix64(seed: 2024)
            let recovered = try kind.withStore(StoreKind.options(historyLimit: 5)) { store -> RecoveredState in
                for _ in 0..<40 {
                    var delta = CheckpointDelta()
                    func key(_ g: inout SplitMix64) -> StateKey {
                        StateKey(
                            pipeline: ["p", "q"][Int(g.next() % 2)], partition: Int(g.next() % 3),
                            operatorID: ["avg", "max"][Int(g.next() % 2)], key: [UInt8(g.next() % 20)],
                            namespace: [UInt8(g.next() % 3)]
                        )
                    }
                    for _ in 0..<Int(generator.next() % 30) {
                        let k = key(&generator)
                        delta.stateUpserts.append(StateEntry(key: k, value: [UInt8(generator.next() % 256)]))
                    }
                    for _ in 0..<Int(generator.next() % 10) { delta.stateDeletes.append(key(&generator)) }
                    for _ in 0..<Int(generator.next() % 4) {
                        delta.inputOffsets.append(
                            InputOffset(
                                pipeline: "p", topic: "t", partition: Int(generator.next() % 3),
                                nextOffset: Int64(generator.next() % 1000))
                        )
                    }
                    for _ in 0..<Int(generator.next() % 5) {
                        delta.dedupInserts.append(
                            DedupEntry(
                                source: ["a", "b"][Int(generator.next() % 2)], key: [UInt8(generator.next() % 50)],
                                eventTimeMs: Int64(generator.next() % 1000))
                        )
                    }
                    if generator.next() % 3 == 0 {
                        delta.dedupPrunes.append(DedupPrune(source: "a", horizonMs: Int64(generator.next() % 1000)))
                    }
                    try store.commit(delta)
                }
                var recovered = try store.loadLatest()
                recovered.checkpoint?.applyDuration = .zero
                return recovered
            }
            results.append(recovered)
        }
        #expect(results[0].checkpoint?.id == 40)
        #expect(results[0] == results[1])
        #expect(!results[0].state.isEmpty)
    }
}
