import Testing
@testable import PSPFLog

@Suite("CRC-32C")
struct CRC32CTests {
    // RFC 3720 (iSCSI) appendix B.4 vectors plus the common check value.
    @Test(arguments: [
        (Array("123456789".utf8), UInt32(0xE306_9283)),
        ([UInt8](repeating: 0, count: 32), UInt32(0x8A91_36AA)),
        ([UInt8](repeating: 0xFF, count: 32), UInt32(0x62A8_AB43)),
        ((0..<32).map { UInt8($0) }, UInt32(0x46DD_794E)),
        ((0..<32).reversed().map { UInt8($0) }, UInt32(0x113F_DB5C)),
        ([UInt8](), UInt32(0)),
    ])
    func vectors(input: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(input) == expected)
    }

    /// Slice-by-8 agrees with the bitwise definition at every length and alignment.
    @Test func matchesBitwiseReference() {
        func reference(_ data: ArraySlice<UInt8>) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in data {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return ~crc
        }
        var state: UInt64 = 0x1234_5678
        let data = (0..<300).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = data[start..<end]
                let fast = slice.withUnsafeBytes { CRC32C.checksum($0) }
                #expect(fast == reference(slice))
            }
        }
    }

    /// The CPU's CRC instructions (when present) and the table implementation agree at every
    /// length and alignment, including lengths that leave a tail after the 8-byte steps.
    @Test(.enabled(if: CRC32C.isHardwareAccelerated, "the CPU has no CRC-32C instructions"))
    func hardwareAndSoftwareAgree() {
        var state: UInt64 = 0x9E37_79B9
        let data = (0..<1100).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        data.withUnsafeBytes { bytes in
            for start in 0..<9 {
                for count in [0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 100, 1024, 1091 - start] {
                    let p = bytes.baseAddress! + start
                    for seed: UInt32 in [0, 0xDEAD_BEEF] {
                        #expect(CRC32C.update(seed, p, count) == CRC32C.softwareUpdate(seed, p, count))
                    }
                }
            }
        }
    }

    @Test func incrementalUpdateEqualsWhole() {
        let data = Array("The quick brown fox jumps over the lazy dog".utf8)
        let whole = CRC32C.checksum(data)
        for split in 0...data.count {
            let first = data[..<split].withUnsafeBytes { CRC32C.checksum($0) }
            let both = data[split...].withUnsafeBytes { CRC32C.update(first, $0) }
            #expect(both == whole)
        }
    }
}

@Suite("Key hash")
struct KeyHashTests {
    // Apache Kafka UtilsTest.testMurmur2 vectors (signed Java ints).
    @Test(arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
        ("", 275_646_681),
    ])
    func kafkaVectors(key: String, expected: Int32) {
        #expect(Int32(bitPattern: KeyHash.murmur2(Array(key.utf8))) == expected)
    }

    /// Partition = (murmur2 & 0x7FFFFFFF) % N; these pin the routing for all future versions.
    @Test(arguments: [
        ("foobar", 4, 2), ("foobar", 12, 6),
        ("a-little-bit-longer-string", 4, 3), ("abc", 12, 3),
        ("dev-0001", 4, 0), ("dev-0042", 4, 3), ("dev-0042", 12, 7), ("sensor-a", 4, 3),
    ])
    func partitions(key: String, count: Int, expected: Int) {
        let partition = Array(key.utf8).withUnsafeBytes { KeyHash.partition(forKey: $0, partitionCount: count) }
        #expect(partition == expected)
    }
}

@Suite("Record frame")
struct RecordFrameTests {
    func encode(key: String, topic: String, payload: String) -> [UInt8] {
        let k = Array(key.utf8), t = Array(topic.utf8), p = Array(payload.utf8)
        var frame = [UInt8](repeating: 0, count: RecordFrame.frameBytes(keyCount: k.count, topicCount: t.count, payloadCount: p.count))
        frame.withUnsafeMutableBytes { out in
            k.withUnsafeBytes { k in
                t.withUnsafeBytes { t in
                    p.withUnsafeBytes { p in
                        RecordFrame.encode(
                            into: out.baseAddress!, offset: 42, eventTime: 1_000, appendTime: 2_000, attributes: 7,
                            key: k, topic: t, payload: p
                        )
                        RecordFrame.seal(out.baseAddress!, frameBytes: out.count)
                    }
                }
            }
        }
        return frame
    }

    @Test func roundTrip() {
        let frame = encode(key: "dev-1", topic: "sensors/dev-1", payload: #"{"t":21.5}"#)
        #expect(frame.count == 44 + 5 + 13 + 10)
        frame.withUnsafeBytes { raw in
            #expect(RecordFrame.check(raw.baseAddress!, available: raw.count) == .valid(frameBytes: raw.count))
            let record = LogRecord(frame: raw.baseAddress!, frameBytes: raw.count, partition: 3)
            #expect(record.offset == 42)
            #expect(record.eventTime == 1_000)
            #expect(record.appendTime == 2_000)
            #expect(record.attributes == 7)
            #expect(Array(record.key) == Array("dev-1".utf8))
            #expect(Array(record.topic) == Array("sensors/dev-1".utf8))
            #expect(Array(record.payload) == Array(#"{"t":21.5}"#.utf8))
        }
    }

    @Test func layoutIsLittleEndian() {
        let frame = encode(key: "k", topic: "", payload: "")
        #expect(Array(frame[0..<4]) == [41, 0, 0, 0])               // length = 40 + 1
        #expect(Array(frame[8..<16]) == [42, 0, 0, 0, 0, 0, 0, 0])  // offset
        #expect(frame[32] == 1)                                     // magic
        #expect(Array(frame[34..<36]) == [7, 0])                    // attributes
        #expect(Array(frame[36..<38]) == [1, 0])                    // key length
        let crc = frame.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        #expect(Array(frame[4..<8]) == [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)])
    }

    /// The worked example of docs/log-format.md, byte for byte.
    @Test func documentedExampleFrame() {
        let key = Array("dev-1".utf8), topic = Array("s/dev-1".utf8), payload = Array(#"{"t":21.5}"#.utf8)
        var frame = [UInt8](repeating: 0, count: 66)
        frame.withUnsafeMutableBytes { out in
            key.withUnsafeBytes { k in
                topic.withUnsafeBytes { t in
                    payload.withUnsafeBytes { p in
                        RecordFrame.encode(
                            into: out.baseAddress!, offset: 7, eventTime: 1_700_000_000_000, appendTime: 1_700_000_000_123,
                            attributes: 0, key: k, topic: t, payload: p
                        )
                        RecordFrame.seal(out.baseAddress!, frameBytes: 66)
                    }
                }
            }
        }
        let hex = frame.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        #expect(hex == "3e00000071f33ec007000000000000000068e5cf8b0100007b68e5cf8b01000001000000050007000a0000006465762d31732f6465762d317b2274223a32312e357d")
    }

    @Test func everyFlippedByteIsDetected() {
        let frame = encode(key: "dev-1", topic: "t", payload: "hello")
        for i in 0..<frame.count {
            var bad = frame
            bad[i] ^= 0x01
            let check = bad.withUnsafeBytes { RecordFrame.check($0.baseAddress!, available: $0.count) }
            #expect(check != .valid(frameBytes: frame.count), "flip at \(i) undetected")
        }
    }

    @Test func incompleteFrameNeedsMore() {
        let frame = encode(key: "dev-1", topic: "t", payload: "hello")
        frame.withUnsafeBytes { raw in
            #expect(RecordFrame.check(raw.baseAddress!, available: 10) == .needMore(frameBytes: 44))
            #expect(RecordFrame.check(raw.baseAddress!, available: 50) == .needMore(frameBytes: raw.count))
        }
    }
}

@Suite("Group commit scheduler")
struct GroupCommitSchedulerTests {
    @Test func everySyncsAfterEachWrite() {
        var scheduler = GroupCommitScheduler(policy: .every)
        #expect(!scheduler.isDue(now: 0))
        scheduler.didWrite(now: 5)
        #expect(scheduler.isDue(now: 5))
        scheduler.didSync()
        #expect(!scheduler.isDue(now: 6))
        #expect(scheduler.deadline == nil)
    }

    @Test func intervalSyncsWithinTheIntervalOfTheFirstWrite() {
        var scheduler = GroupCommitScheduler(policy: .interval(milliseconds: 10))
        scheduler.didWrite(now: 100)
        scheduler.didWrite(now: 105)          // later writes join the same group
        #expect(scheduler.deadline == 110)
        #expect(!scheduler.isDue(now: 109))
        #expect(scheduler.isDue(now: 110))
        scheduler.didSync()
        #expect(!scheduler.isDue(now: 200))   // nothing written since
        #expect(scheduler.deadline == nil)
        scheduler.didWrite(now: 200)
        #expect(scheduler.isDue(now: 150))    // clock went backwards: sync now
    }

    @Test func noneNeverSyncsByItself() {
        var scheduler = GroupCommitScheduler(policy: .none)
        scheduler.didWrite(now: 0)
        #expect(!scheduler.isDue(now: 1_000_000))
        #expect(scheduler.deadline == nil)
    }
}
