import PSPFJSON

extension ConfigDecoder {
    func decodeSource(_ name: String, _ m: MappingReader, _ path: String) -> SourceConfig? {
        let broker = m.string("broker", required: true, hint: "name one of the brokers")
        var topics: [String] = []
        if let items = m.stringList("topics", what: "topic filters", required: true) {
            for (topic, node, itemPath) in items {
                checkTopicFilter(topic, node, itemPath, wildcards: true)
                topics.append(topic)
            }
            if items.isEmpty, let node = m.value("topics") {
                diagnostics.error(
                    .invalidValue, m.keyPath("topics"), "at least one topic filter is needed",
                    hint: "e.g. [sensors/+/reading]",
                    node: node)
            }
        }
        var source = SourceConfig(name: name, broker: broker ?? "", topics: topics)
        if let node = m.value("qos"), let qos = reader.int(node, m.keyPath("qos"), in: 0...2) {
            if qos == 2 {
                diagnostics.error(
                    .invalidValue, m.keyPath("qos"), "the durable ingest subscribes with QoS 0 or 1",
                    hint:
                        "use qos: 1 — a QoS 2 message can be lost if the daemon crashes between PUBREC and PUBREL (docs/mqtt.md); the broker delivers QoS 2 publications at QoS 1",
                    node: node)
            } else {
                source.qos = qos
            }
        }
        if let node = m.value("key") {
            source.key = decodeKey(node, m.keyPath("key")) ?? .topic
        }
        if let eventTime = m.mapping("event_time", what: "the event-time field") {
            source.eventTime = decodeTimestampField(eventTime)
        }
        source.maxPayloadBytes = Int(
            m.size("max_payload_bytes", maximum: 16 << 20)?.bytes ?? Int64(source.maxPayloadBytes))
        if let dedup = m.mapping("dedup", what: "de-duplication settings") {
            let by = dedup.choice(
                "by", ["none": "none", "event_time": "event_time", "payload": "payload", "field": "field"],
                required: true)
            switch by {
            case "event_time":
                source.dedup.by = .eventTime
                if !m.has("event_time") {
                    diagnostics.error(
                        .conflict, dedup.keyPath("by"), "de-duplication by event time needs the source's event_time",
                        hint: "add event_time: {field: ts}", node: dedup.value("by"))
                }
            case "payload": source.dedup.by = .payload
            case "field":
                if let field = dedup.string("field", required: true, hint: "the payload's message-id field") {
                    source.dedup.by = .field(JSONFieldPath(field))
                }
            default: source.dedup.by = .none
            }
            dedup.accept("field")
            source.dedup.horizon = dedup.duration("horizon") ?? source.dedup.horizon
            source.dedup.maxEntries = dedup.int("max_entries", in: 1...100_000_000) ?? source.dedup.maxEntries
            dedup.finish()
        }
        if !m.has("dedup"), source.eventTime != nil, source.qos >= 1 {
            // QoS 1 redelivers whatever the broker did not see acknowledged (after a crash, or
            // acks lost in a disconnect), so with an event time, repeats are dropped by default.
            source.dedup.by = .eventTime
        }
        if let log = m.mapping("log", what: "input log settings") {
            source.log.partitions = log.int("partitions", in: 1...65535) ?? source.log.partitions
            source.log.fsync = decodeFsync(log, "fsync") ?? source.log.fsync
            source.log.segmentBytes =
                log.size("segment_bytes", minimum: 4096, maximum: 1 << 30) ?? source.log.segmentBytes
            if let retention = log.mapping("retention", what: "retention settings") {
                source.log.retentionBytes = retention.size("max_bytes")
                source.log.retentionAge = retention.duration("max_age")
                retention.finish()
            }
            source.log.diskQuota = log.size("disk_quota_bytes", minimum: 1 << 20)
            source.log.quotaPolicy = decodeQuotaPolicy(log, "quota_policy") ?? source.log.quotaPolicy
            log.finish()
        }
        return source
    }
}
