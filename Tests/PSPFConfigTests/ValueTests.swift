import Testing

@testable import PSPFConfig

@Suite struct DurationTests {
    @Test(
        arguments: [
            ("0", 0), ("500ms", 500), ("1s", 1000), ("10s", 10_000), ("5m", 300_000), ("1h", 3_600_000),
            ("7d", 604_800_000), ("1h30m", 5_400_000), ("1m30s", 90_000), ("2s500ms", 2500), ("1.5s", 1500),
            ("0.25s", 250), ("1.5m", 90_000), ("0s", 0), ("0ms", 0),
        ] as [(String, Int64)])
    func parses(_ text: String, _ ms: Int64) {
        #expect(ConfigDuration.milliseconds(parsing: text) == ms)
    }

    @Test(arguments: [
        "", "10", "1.5", "10x", "s", "10 s", "-1s", "+1s", "1.s", ".5s", "0.5ms", "1.0001s", "30m1h", "1s1s", "1S",
        "1sec", "1h 30m", "99999999999999999999s", "1e3ms",
    ])
    func rejects(_ text: String) {
        #expect(ConfigDuration.milliseconds(parsing: text) == nil)
    }

    @Test(
        arguments: [
            (0, "0"), (500, "500ms"), (10_000, "10s"), (90_000, "1m30s"), (3_600_000, "1h"), (86_400_500, "1d500ms"),
        ] as [(Int64, String)])
    func formats(_ ms: Int64, _ text: String) {
        #expect(ConfigDuration.format(milliseconds: ms) == text)
        #expect(ConfigDuration.milliseconds(parsing: text) == ms)
    }
}

@Suite struct ByteSizeTests {
    @Test(
        arguments: [
            ("0", 0), ("4096", 4096), ("1B", 1), ("512KiB", 512 << 10), ("64MiB", 64 << 20), ("1GiB", 1 << 30),
            ("2TiB", 2 << 40), ("100MB", 100_000_000), ("1kB", 1000), ("1KB", 1000), ("3GB", 3_000_000_000),
            ("1.5GiB", 1_610_612_736), ("1.5KiB", 1536), ("64 MiB", 64 << 20),
        ] as [(String, Int64)])
    func parses(_ text: String, _ bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "MiB", "64mib", "64M", "64Mb", "1.5", "-1KiB", "1e3", "12XB", "99999999999TiB", "1.KiB"])
    func rejects(_ text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test func describesWithTheLargestExactUnit() {
        #expect(ByteSize(bytes: 64 << 20).description == "64MiB")
        #expect(ByteSize(bytes: 1536).description == "1536B" || ByteSize(bytes: 1536).description == "1536B")
        #expect(ByteSize(bytes: 3 << 10).description == "3KiB")
        #expect(ByteSize(bytes: 7).description == "7B")
    }

    @Test func sizesAndDurationsInAConfig() throws {
        let yaml = config(
            pipeline: """
                source: sensors
                key: device
                timestamp: {field: ts}
                window: {type: hopping, size: 1m, slide: 15s}
                out_of_orderness: 1.5s
                allowed_lateness: 0
                idle_timeout: 2m30s
                sinks: [console]
                """,
            extra: "checkpoint: {interval: 500ms}\ndead_letters: {retention: 3d, max_bytes: 256MiB}"
        )
        .replacingOccurrences(
            of: "topics: [sensors/+/reading], key: device}",
            with:
                "topics: [sensors/+/reading], key: device, max_payload_bytes: 64KiB, log: {segment_bytes: 16MiB, disk_quota_bytes: 2GiB, fsync: every, retention: {max_age: 7d}}}"
        )
        let c = try load(yaml)
        let p = try #require(c.pipelines.first)
        #expect(p.window == .hopping(size: .seconds(60), slide: .seconds(15), offset: .zero))
        #expect(p.outOfOrderness == .milliseconds(1500))
        #expect(p.allowedLateness == .zero)
        #expect(p.idleTimeout == .seconds(150))
        #expect(c.checkpoint.interval == .milliseconds(500))
        #expect(c.deadLetters.retention == .seconds(3 * 86_400))
        #expect(c.deadLetters.maxBytes == ByteSize(bytes: 256 << 20))
        let s = try #require(c.sources.first)
        #expect(s.maxPayloadBytes == 64 << 10)
        #expect(s.log.segmentBytes.bytes == 16 << 20)
        #expect(s.log.diskQuota?.bytes == 2 << 30)
        #expect(s.log.fsync == .every)
        #expect(s.log.retentionAge == .seconds(7 * 86_400))
    }

    @Test func outOfRangeSizesAreReported() {
        let yaml = config(
            pipeline:
                "source: sensors\nkey: device\ntimestamp: {field: ts}\nwindow: {type: count, size: 10}\nsinks: [console]"
        )
        .replacingOccurrences(
            of: "topics: [sensors/+/reading], key: device}", with: "topics: [sensors/+/reading], key: device, log: {segment_bytes: 1KiB}}")
        let errors = loadErrors(yaml)
        #expect(errors.map(\.code) == [.invalidSize])
        #expect(errors.first?.message.contains("out of range (4KiB…1GiB)") == true, "\(errors)")
    }
}

@Suite struct SuggestionTests {
    @Test(
        arguments: [
            ("hots", ["host", "port"], "host"), ("protcol", ["protocol", "port"], "protocol"),
            ("Host", ["host"], "host"),
            ("aggregate", ["aggregates", "sinks"], "aggregates"), ("xyz", ["host", "port"], nil),
            ("sink", ["sinks", "source"], "sinks"), ("window_size", ["window", "sinks"], nil),
        ] as [(String, [String], String?)])
    func suggestsCloseNames(_ word: String, _ candidates: [String], _ expected: String?) {
        #expect(Suggestions.closest(to: word, in: candidates) == expected)
    }
}
