import PSPFConfig
import PSPFCore
import PSPFConnectors
import PSPFLog
import PSPFMQTT

extension SourceConfig {
    /// What the MQTT ingest of this source subscribes to and how it keys, times and
    /// de-duplicates messages.
    var ingestConfiguration: MQTTIngestConfiguration {
        let ingestKey: IngestKey =
            switch key {
            case .topic: .topic
            case .topicSegment(let index): .topicSegment(index)
            case .field(let path): .payloadField(path)
            }
        var configuration = MQTTIngestConfiguration(
            topicFilters: topics, qos: MQTTQoS(rawValue: Int32(qos)) ?? .atLeastOnce, key: ingestKey)
        configuration.eventTime = eventTime.map { EventTimeField($0.field, format: $0.format) }
        configuration.maxPayloadBytes = maxPayloadBytes
        configuration.deadLetterSource = "ingest." + name
        let identity: Deduplication.Identity? =
            switch dedup.by {
            case .none: nil
            case .eventTime: .keyAndEventTime
            case .payload: .payloadBytes
            case .field(let path): .payloadField(path)
            }
        configuration.deduplication =
            identity.map { Deduplication(identity: $0, horizon: dedup.horizon, maxEntries: dedup.maxEntries) }
            ?? .disabled
        return configuration
    }

    /// The input log topic's configuration.
    var topicConfiguration: TopicConfig {
        TopicConfig(
            partitions: log.partitions, segmentBytes: Int(log.segmentBytes.bytes), fsync: log.fsync.policy,
            retention: Retention(maxBytes: log.retentionBytes?.bytes, maxAge: log.retentionAge),
            diskQuotaBytes: log.diskQuota?.bytes, quotaPolicy: log.quotaPolicy == .block ? .block : .dropOldest,
            maxRecordBytes: max(1 << 20, maxPayloadBytes + (64 << 10)))
    }
}

extension FsyncConfig {
    var policy: FsyncPolicy {
        switch self {
        case .every: .every
        case .none: .none
        case .interval(let duration):
            .interval(milliseconds: max(1, Int(duration.pspfMilliseconds)))
        }
    }
}
