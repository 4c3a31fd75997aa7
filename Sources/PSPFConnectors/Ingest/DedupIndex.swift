import PSPFLog

/// A 128-bit fingerprint of a message's identity (MQTT topic, key and identity value). Two
/// independent 64-bit hashes, so that a false "duplicate" (which would drop a message) needs a
/// 128-bit collision. Fingerprints are never stored: they are recomputed from the log on start,
/// so the per-process random seed of `Hasher` is fine.
struct Fingerprint: Hashable {
    var a: UInt64
    var b: UInt64

    func hash(into hasher: inout Hasher) { hasher.combine(a) }
    static func == (lhs: Fingerprint, rhs: Fingerprint) -> Bool { lhs.a == rhs.a && lhs.b == rhs.b }

    /// The fingerprint of (tag, topic, key, value), each part length-prefixed.
    init(tag: UInt8, topic: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        var hasher = Hasher()
        var fnv = FNV1a()
        hasher.combine(tag)
        fnv.add(tag)
        func add(_ part: UnsafeRawBufferPointer) {
            hasher.combine(part.count)
            hasher.combine(bytes: part)
            fnv.add(UInt64(part.count))
            fnv.add(part)
        }
        add(topic)
        add(key)
        add(value)
        a = UInt64(bitPattern: Int64(hasher.finalize()))
        b = fnv.value
    }

    init(tag: UInt8, topic: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, eventTime: Int64) {
        var time = eventTime.littleEndian
        self = withUnsafeBytes(of: &time) { Fingerprint(tag: tag, topic: topic, key: key, value: $0) }
    }
}

/// FNV-1a 64.
struct FNV1a {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    mutating func add(_ word: UInt64) {
        var w = word
        for _ in 0..<8 {
            add(UInt8(truncatingIfNeeded: w))
            w >>= 8
        }
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { add(byte) }
    }
}

/// Computes the de-duplication fingerprint of a message under the configured identity.
struct DedupKeyer {
    let identity: Deduplication.Identity

    /// `nil` when the message has no identity value (it is then never a duplicate).
    func fingerprint(
        topic: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, eventTime: Int64?,
        identityField: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer
    ) -> Fingerprint? {
        switch identity {
        case .keyAndEventTime:
            guard let eventTime else { return nil }
            return Fingerprint(tag: 1, topic: topic, key: key, eventTime: eventTime)
        case .payloadField:
            guard let identityField else { return nil }
            return Fingerprint(tag: 2, topic: topic, key: key, value: identityField)
        case .payloadBytes:
            return Fingerprint(tag: 3, topic: topic, key: key, value: payload)
        case .none:
            return nil
        }
    }
}

/// The set of recently appended message fingerprints, bounded by a time horizon and an entry
/// count: a FIFO ring in append order plus an open-addressing table from fingerprint to its live
/// ring entry.
///
/// The table is its own (linear probing, power-of-two capacity, at most half full, deletion by
/// backward shift) rather than a `Dictionary`: a fingerprint is already a hash, so its low bits
/// pick the bucket directly instead of being hashed again with SipHash on every lookup (3–4
/// lookups per message), and a slot is one `UInt64` — the fingerprint's low 32 bits and the ring
/// index — instead of a 24-byte key/value pair. Measured at 30k entries: ~1.3 MB instead of
/// ~2.5 MB.
struct DedupIndex {
    /// One remembered message: its fingerprint and when it was appended (ms).
    private struct Entry {
        var a: UInt64
        var b: UInt64
        var time: Int64
    }

    let horizon: Int64
    let maxEntries: Int
    /// Append order; `[head, head + ringCount)` (modulo the capacity) are the remembered entries.
    private var ring: [Entry] = []
    private var head = 0
    private var ringCount = 0
    /// 0: empty; else `UInt64(low 32 bits of a) << 32 | (ring index + 1)`. Every slot points at a
    /// ring entry inside the window whose fingerprint it holds (re-inserting a fingerprint moves its
    /// slot to the newer entry; evicting an entry frees the slot only if it still points there).
    private var slots: [UInt64] = []
    private var liveCount = 0
    private var newestTime = Int64.min

    init(horizonMilliseconds: Int64, maxEntries: Int) {
        self.horizon = horizonMilliseconds
        self.maxEntries = Swift.min(Swift.max(0, maxEntries), Int(UInt32.max) - 1)
    }

    /// Fingerprints currently remembered.
    var count: Int { liveCount }

    func contains(_ fingerprint: Fingerprint) -> Bool { find(fingerprint) != nil }

    /// Remembers `fingerprint` as appended at `time` (ms), after evicting what fell out of the
    /// horizon or beyond the entry limit.
    mutating func insert(_ fingerprint: Fingerprint, time: Int64) {
        guard maxEntries > 0 else { return }
        let time = Swift.max(time, newestTime)
        newestTime = time
        evict(now: time, making: 1)
        if ringCount == ring.count { grow() }
        let index = (head + ringCount) % ring.count
        ring[index] = Entry(a: fingerprint.a, b: fingerprint.b, time: time)
        ringCount += 1
        if let slot = find(fingerprint) {
            slots[slot] = Self.slotValue(fingerprint.a, index)  // now the newer entry
        } else {
            place(Self.slotValue(fingerprint.a, index))
            liveCount += 1
        }
    }

    /// Forgets `fingerprint` (a record whose append did not become durable).
    mutating func remove(_ fingerprint: Fingerprint) {
        guard let slot = find(fingerprint) else { return }
        deleteSlot(slot)
        liveCount -= 1
    }

    /// Drops entries older than `now − horizon`, and the oldest beyond `maxEntries − making`.
    mutating func evict(now: Int64, making room: Int = 0) {
        let cutoff = now &- horizon
        while ringCount > 0 {
            let front = ring[head]
            guard ringCount + room > maxEntries || front.time < cutoff else { break }
            if let slot = find(Fingerprint(a: front.a, b: front.b)), Self.ringIndex(slots[slot]) == head {
                deleteSlot(slot)
                liveCount -= 1
            }
            head = (head + 1) % ring.count
            ringCount -= 1
        }
    }

    // MARK: The table

    private static func slotValue(_ a: UInt64, _ ringIndex: Int) -> UInt64 {
        (a & 0xFFFF_FFFF) << 32 | UInt64(ringIndex + 1)
    }

    private static func ringIndex(_ slot: UInt64) -> Int { Int(slot & 0xFFFF_FFFF) - 1 }

    /// The bucket a slot value (or fingerprint) hashes to: the low bits of `a`.
    private func home(ofSlot slot: UInt64) -> Int { Int(truncatingIfNeeded: slot >> 32) & (slots.count - 1) }

    private func find(_ fingerprint: Fingerprint) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        let tag = fingerprint.a & 0xFFFF_FFFF
        var i = Int(truncatingIfNeeded: fingerprint.a) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if slot >> 32 == tag {
                let entry = ring[Self.ringIndex(slot)]
                if entry.a == fingerprint.a, entry.b == fingerprint.b { return i }
            }
            i = (i + 1) & mask
        }
    }

    /// Puts a slot value into the first free bucket from its home (the table is at most half full).
    private mutating func place(_ value: UInt64) {
        let mask = slots.count - 1
        var i = home(ofSlot: value)
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = value
    }

    /// Empties bucket `start`, shifting later members of its probe run back so that every value
    /// stays reachable from its home without tombstones.
    private mutating func deleteSlot(_ start: Int) {
        let mask = slots.count - 1
        var hole = start
        var i = (start + 1) & mask
        while slots[i] != 0 {
            // slots[i] may move into the hole if the hole lies on its probe path (home … i).
            if (i &- home(ofSlot: slots[i])) & mask >= (i &- hole) & mask {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i + 1) & mask
        }
        slots[hole] = 0
    }

    /// Doubles the ring (up to `maxEntries`), re-linearised from `head`, and rebuilds the table
    /// for it at most half full.
    private mutating func grow() {
        let oldCapacity = ring.count
        let capacity = Swift.max(Swift.min(Swift.max(1024, oldCapacity * 2), maxEntries), ringCount + 1)
        var grown = [Entry](repeating: Entry(a: 0, b: 0, time: 0), count: capacity)
        for k in 0..<ringCount { grown[k] = ring[(head + k) % oldCapacity] }
        var tableCapacity = 16
        while tableCapacity < capacity * 2 { tableCapacity <<= 1 }
        let old = slots
        ring = grown
        slots = [UInt64](repeating: 0, count: tableCapacity)
        for slot in old where slot != 0 {
            let k = (Self.ringIndex(slot) - head + oldCapacity) % oldCapacity
            place(Self.slotValue(ring[k].a, k))
        }
        head = 0
    }
}

extension Fingerprint {
    init(a: UInt64, b: UInt64) {
        self.a = a
        self.b = b
    }
}

/// What rebuilding the de-duplication state from the log found.
public struct DedupRebuildReport: Sendable, Hashable {
    /// Records read from the partitions' tails.
    public var recordsScanned = 0
    /// Fingerprints loaded (records with an identity value, newest `maxEntries`).
    public var entriesLoaded = 0
    /// The newest append time in the topic (ms), if it has records.
    public var newestAppendTime: Int64?

    public init() {}
}

extension DedupIndex {
    /// Rebuilds the index from the tail of every partition of `topic`: the records appended
    /// within `horizon` of the newest record (and at most `maxEntries` of them, the newest).
    /// Their times are shifted so that the newest counts as appended at `now`: time the ingest
    /// was not running does not eat into the horizon. Blocking file IO.
    static func rebuild(
        from topic: LogTopic, keyer: DedupKeyer, fields: IngestFieldReader, horizonMilliseconds: Int64,
        maxEntries: Int, now: Int64
    ) throws -> (DedupIndex, DedupRebuildReport) {
        var index = DedupIndex(horizonMilliseconds: horizonMilliseconds, maxEntries: maxEntries)
        var report = DedupRebuildReport()
        guard maxEntries > 0, keyer.identity != .none else { return (index, report) }

        // The newest append time over all partitions.
        var newest: Int64?
        for partition in 0..<topic.partitionCount {
            let end = topic.endOffset(partition: partition)
            guard end > topic.startOffset(partition: partition) else { continue }
            if let time = try appendTime(topic.reader(partition: partition), at: end - 1) {
                newest = Swift.max(newest ?? time, time)
            }
        }
        guard let newest else { return (index, report) }
        report.newestAppendTime = newest
        let cutoff = newest &- horizonMilliseconds

        struct Loaded { var time: Int64; var partition: Int; var offset: Int64; var fingerprint: Fingerprint }
        var loaded: [Loaded] = []
        for partition in 0..<topic.partitionCount {
            let reader = topic.reader(partition: partition)
            let start = topic.startOffset(partition: partition)
            let end = topic.endOffset(partition: partition)
            guard end > start else { continue }
            // First offset appended at or after the cutoff (binary search; append times grow).
            var low = Swift.max(start, end - Int64(maxEntries))
            var high = end
            while low < high {
                let middle = low + (high - low) / 2
                if let time = try appendTime(reader, at: middle), time >= cutoff {
                    high = middle
                } else {
                    low = middle + 1
                }
            }
            reader.seek(to: low)
            while true {
                let result = try reader.read(maxRecords: 10_000) { record in
                    report.recordsScanned += 1
                    guard record.appendTime >= cutoff else { return }
                    let identityField: UnsafeRawBufferPointer? =
                        if case .payloadField = keyer.identity { fields.identity(inPayload: record.payload) } else { nil }
                    if let fingerprint = keyer.fingerprint(
                        topic: record.topic, key: record.key, eventTime: record.eventTime, identityField: identityField,
                        payload: record.payload)
                    {
                        loaded.append(
                            Loaded(time: record.appendTime, partition: partition, offset: record.offset, fingerprint: fingerprint))
                    }
                }
                if result.records == 0 || reader.nextOffset >= end { break }
            }
        }
        loaded.sort { ($0.time, $0.partition, $0.offset) < ($1.time, $1.partition, $1.offset) }
        let shift = Swift.max(0, now &- newest)
        for entry in loaded.suffix(maxEntries) {
            index.insert(entry.fingerprint, time: entry.time &+ shift)
        }
        report.entriesLoaded = index.count
        return (index, report)
    }

    private static func appendTime(_ reader: PartitionReader, at offset: Int64) throws -> Int64? {
        var time: Int64?
        try reader.read(from: offset, maxRecords: 1) { time = $0.appendTime }
        return time
    }
}
