import Logging
import PSPFJSON
import PSPFLog
import PSPFMQTT
import Synchronization

@testable import PSPFConnectors

let testLogger: Logger = {
    var logger = Logger(label: "pspf.test")
    logger.logLevel = .critical
    return logger
}()

/// A wall clock the test moves by hand (milliseconds since the epoch).
final class TestLogClock: Sendable {
    private let time: Mutex<Int64>
    init(_ start: Int64 = 1_732_406_400_000) { time = Mutex(start) }
    var now: Int64 { time.withLock { $0 } }
    func advance(milliseconds: Int64) { time.withLock { $0 += milliseconds } }
    var logClock: LogClock { LogClock { [self] in self.now } }
}

/// Every record of every partition, owned.
func readAll(_ topic: LogTopic) throws -> [OwnedLogRecord] {
    var records: [OwnedLogRecord] = []
    for partition in 0..<topic.partitionCount {
        let reader = topic.reader(partition: partition)
        reader.seek(to: topic.startOffset(partition: partition))
        while true {
            let result = try reader.read(maxRecords: 10_000) { records.append($0.owned()) }
            if result.records == 0 { break }
        }
    }
    return records
}

extension MQTTIngestHandler {
    /// Delivers one message from strings, as the MQTT client would.
    func receive(_ topic: String, _ payload: String, qos: MQTTQoS = .atLeastOnce) {
        var topic = topic
        var payload = payload
        topic.withUTF8 { t in
            payload.withUTF8 { p in
                receive(topic: UnsafeRawBufferPointer(t), payload: UnsafeRawBufferPointer(p), qos: qos)
            }
        }
    }
}

extension OwnedLogRecord {
    var keyString: String { String(decoding: key, as: UTF8.self) }
    var topicString: String { String(decoding: topic, as: UTF8.self) }
    var payloadString: String { String(decoding: payload, as: UTF8.self) }
}

/// A reading payload with a unique sequence number.
func readingPayload(device: String, ts: Int64, seq: Int, temp: Double = 21.5) -> String {
    #"{"device":"\#(device)","ts":\#(ts),"seq":\#(seq),"temp":\#(temp)}"#
}
