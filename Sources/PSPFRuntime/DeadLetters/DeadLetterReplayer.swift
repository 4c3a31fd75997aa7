import PSPFLog

/// Re-injects dead-lettered records into an input topic, byte for byte (original key, topic
/// and payload), so they are processed again — after a schema fix, say.
///
/// Progress is kept as the consumer group ``replayGroup`` of the dead-letter topic, so a second
/// `replay` continues where the first stopped instead of injecting the same records twice.
///
/// ```swift
/// let replayer = DeadLetterReplayer(deadLetters: dlq, input: readings)
/// let report = try await replayer.replay(where: { $0.reason == "schema_violation" })
/// ```
public struct DeadLetterReplayer: Sendable {
    public static let replayGroup = "dlq.replay"

    public let deadLetters: LogTopic
    public let input: LogTopic

    public init(deadLetters: LogTopic, input: LogTopic) {
        self.deadLetters = deadLetters
        self.input = input
    }

    /// What a replay did.
    public struct Report: Sendable, Equatable {
        /// Dead letters examined.
        public var examined = 0
        /// Records appended to the input topic.
        public var replayed = 0
        /// Dead letters whose payload was not a readable envelope (left alone, counted).
        public var unreadable = 0
    }

    /// Replays every dead letter after the group's position (or from `from`) that `include`
    /// accepts; with `dryRun` nothing is appended and the position does not move.
    public func replay(
        from start: Int64? = nil, dryRun: Bool = false, where include: (DeadLetterEnvelope) -> Bool = { _ in true }
    ) async throws -> Report {
        var report = Report()
        var next: [Int: Int64] = [:]
        try deadLetters.groups.register(group: Self.replayGroup)
        for partition in 0..<deadLetters.partitionCount {
            let position = start
                ?? deadLetters.groups.committedOffset(group: Self.replayGroup, partition: partition)
                ?? deadLetters.startOffset(partition: partition)
            var batch = LogBatch()
            let read = try deadLetters.reader(partition: partition).read(from: position) { record in
                report.examined += 1
                guard let envelope = DeadLetterEnvelope(json: record.payload) else {
                    report.unreadable += 1
                    return
                }
                guard include(envelope) else { return }
                report.replayed += 1
                var topic = envelope.sourceTopic
                topic.withUTF8 { topic in
                    envelope.key.withUnsafeBytes { key in
                        envelope.payload.withUnsafeBytes { payload in
                            batch.append(key: key, topic: UnsafeRawBufferPointer(topic), payload: payload)
                        }
                    }
                }
            }
            if !dryRun {
                if !batch.isEmpty { try await input.appendDurably(batch) }
                next[partition] = read.nextOffset
            }
        }
        if !next.isEmpty { try await deadLetters.commit(group: Self.replayGroup, offsets: next) }
        return report
    }
}
