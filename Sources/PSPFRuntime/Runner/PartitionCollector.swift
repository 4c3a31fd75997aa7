import PSPFCore
import PSPFJSON
import PSPFLog

/// Encoded results and dead letters of one partition step, with the input position they cover.
struct OutputBatch: Sendable {
    var partition: Int
    var nextOffset: Int64
    var results: LogBatch
    var resultCount: Int
    var deadLetters: LogBatch
    var deadLetterCount: Int
}

/// Collects what one pipeline instance emits during a step. Lives inside one partition task.
final class PartitionCollector {
    let pipeline: String
    var current: InputRecord?
    var captureLate = true
    var captureDeadLetters = true
    private var writer = JSONWriter(capacity: 512)
    private var results = LogBatch(capacity: 64 << 10)
    private var resultCount = 0
    private var deadLetters = LogBatch(capacity: 4 << 10)
    private var deadLetterCount = 0
    private let pipelineBytes: [UInt8]
    /// Dead letters written so far, by reason (this run; rare, so a dictionary is fine).
    private(set) var deadLettersByReason: [String: Int64] = [:]

    init(pipeline: String) {
        self.pipeline = pipeline
        pipelineBytes = Array(pipeline.utf8)
    }

    var hasOutput: Bool { resultCount > 0 || deadLetterCount > 0 }

    func result<R: ResultEncodable>(_ result: R) {
        writer.reset()
        result.encode(into: &writer)
        let key = result.partitionKey
        var keyBytes = key
        keyBytes.withUTF8 { key in
            pipelineBytes.withUnsafeBytes { topic in
                writer.bytes.withUnsafeBytes { payload in
                    results.append(key: UnsafeRawBufferPointer(key), topic: topic, payload: payload)
                }
            }
        }
        resultCount += 1
    }

    func late(_ event: LateEvent) {
        guard captureLate, let record = current else { return }
        let message =
            "event time \(event.eventTime.milliseconds) is behind the watermark \(event.watermark.milliseconds) of key \(event.keyDescription): window [\(event.window.start.milliseconds), \(event.window.end.milliseconds)) already fired"
        append(DeadLetterEnvelope(reason: "late", message: message, pipeline: pipeline, record: record))
    }

    func deadLetter(_ event: DeadLetterEvent) {
        guard captureDeadLetters, let record = current else { return }
        append(
            DeadLetterEnvelope(
                reason: event.reason.rawValue, message: event.message, pipeline: pipeline, record: record))
    }

    private func append(_ envelope: DeadLetterEnvelope) {
        deadLettersByReason[envelope.reason, default: 0] += 1
        writer.reset()
        envelope.encode(into: &writer)
        envelope.key.withUnsafeBytes { key in
            pipelineBytes.withUnsafeBytes { topic in
                writer.bytes.withUnsafeBytes { payload in
                    deadLetters.append(key: key, topic: topic, payload: payload, eventTime: nil)
                }
            }
        }
        deadLetterCount += 1
    }

    /// Hands over what was collected and starts empty batches.
    func take(partition: Int, nextOffset: Int64) -> OutputBatch {
        defer {
            results = LogBatch(capacity: 64 << 10)
            deadLetters = LogBatch(capacity: 4 << 10)
            resultCount = 0
            deadLetterCount = 0
        }
        return OutputBatch(
            partition: partition, nextOffset: nextOffset, results: results, resultCount: resultCount,
            deadLetters: deadLetters, deadLetterCount: deadLetterCount)
    }
}
