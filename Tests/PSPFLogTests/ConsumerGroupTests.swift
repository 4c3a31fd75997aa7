#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import PSPFLog

@Suite("Consumer groups")
struct ConsumerGroupTests {
    @Test func commitsAreDurableAndReloaded() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 3, fsync: .none)
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.groups.commit(group: "sink-mqtt", partition: 1, nextOffset: 42)
            try topic.groups.commit(group: "sink-mqtt", offsets: [0: 7, 2: 9])
            try await topic.commit(group: "sink-file", offsets: [0: 1])
            try topic.groups.register(group: "idle")
            #expect(topic.groups.names == ["idle", "sink-file", "sink-mqtt"])
            #expect(topic.groups.offsets(of: "sink-mqtt") == [7, 42, 9])
            #expect(topic.groups.offsets(of: "idle") == [nil, nil, nil])
            #expect(topic.groups.offsets(of: "nope") == nil)
            // No temp files left behind.
            #expect(try FileSystem.list(path + "/groups") == ["idle.offsets", "sink-file.offsets", "sink-mqtt.offsets"])
            try topic.close()

            let reopened = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            #expect(reopened.groups.offsets(of: "sink-mqtt") == [7, 42, 9])
            #expect(reopened.groups.committedOffset(group: "sink-file", partition: 0) == 1)
            #expect(reopened.groups.committedOffset(group: "sink-file", partition: 1) == nil)
            try reopened.groups.delete(group: "sink-file")
            #expect(reopened.groups.names == ["idle", "sink-mqtt"])
            try reopened.close()

            let inspector = try LogTopic.openReadOnly(directory: path, logger: LogCapture().logger)
            #expect(inspector.groups.offsets(of: "sink-mqtt") == [7, 42, 9])
            #expect { try inspector.groups.commit(group: "x", partition: 0, nextOffset: 1) } throws: { ($0 as? LogError)?.code == .readOnly }
        }
    }

    @Test func fileFormatIsAsDocumented() throws {
        let encoded = ConsumerGroups.encode([5, nil])
        #expect(Array(encoded[0..<8]) == Array("PSPFGRP1".utf8))
        #expect(Array(encoded[8..<12]) == [2, 0, 0, 0])
        #expect(Array(encoded[12..<20]) == [5, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(encoded[20..<28]) == [UInt8](repeating: 0xFF, count: 8))
        let crc = CRC32C.checksum(Array(encoded[0..<28]))
        #expect(Array(encoded[28..<32]) == withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        #expect(try ConsumerGroups.decode(encoded, partitionCount: 2, path: "") == [5, nil])
    }

    @Test func aCorruptOffsetsFileIsReportedAndProtectsEverything() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, fsync: .none)
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.groups.commit(group: "g", partition: 0, nextOffset: 100)
            try topic.close()
            try flipByte(path + "/groups/g.offsets", at: 13)
            let capture = LogCapture()
            let reopened = try LogTopic.open(directory: path, config: config, logger: capture.logger)
            #expect(reopened.groups.offsets(of: "g") == [nil])
            #expect(capture.warnings.count == 1)
            #expect(capture.warnings[0].message.contains("consumer group"))
            #expect(reopened.groups.protectedOffsets() == [Int64.min])
            try reopened.close()
        }
    }

    @Test func invalidArgumentsAreRejected() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 2), logger: LogCapture().logger)
            #expect { try topic.groups.commit(group: "../evil", partition: 0, nextOffset: 1) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            #expect { try topic.groups.commit(group: "g", partition: 2, nextOffset: 1) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            #expect { try topic.groups.commit(group: "g", partition: 0, nextOffset: -1) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            try topic.close()
        }
    }

    @Test func protectedOffsetsAreTheMinimumOverGroups() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 2), logger: LogCapture().logger)
            #expect(topic.groups.protectedOffsets() == [Int64.max, Int64.max])
            try topic.groups.commit(group: "a", offsets: [0: 10, 1: 20])
            try topic.groups.commit(group: "b", offsets: [0: 15])
            #expect(topic.groups.protectedOffsets() == [10, Int64.min])
            try topic.close()
        }
    }
}

