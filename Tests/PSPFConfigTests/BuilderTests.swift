import PSPFCore
import PSPFJSON
import PSPFRuntime
import Testing

@testable import PSPFConfig

/// Simulated sensor traffic (with out-of-order, late and malformed messages) in delivery order.
private func simulatedMessages(devices: Int = 12, readings: Int = 300, seed: UInt64 = 7) -> [Message] {
    var simulator = DeviceSimulator(
        configuration: .init(
            devices: devices, readingsPerDevice: readings, lateRate: 0.01, malformedRate: 0.01, seed: seed))
    var messages: [Message] = []
    while let m = simulator.next() {
        messages.append(Message(topic: m.topic, payload: m.payload, arrival: m.deliveryTime))
    }
    return messages
}

private func pipeline(_ body: String) throws -> BuiltPipeline {
    let c = try load(config(pipeline: body))
    return try PipelineBuilder(configuration: c).build(c.pipelines[0])
}

@Suite struct BuilderEquivalenceTests {
    /// The reference pipeline (`SensorReading.temperatureStats`) written as configuration.
    private let referenceYAML = """
        source: sensors
        key: device
        timestamp: {field: ts, format: epoch_ms}
        schema: {device: string, temp: number, hum: number?}
        window: {type: tumbling, size: 10s}
        out_of_orderness: 2s
        idle_timeout: 30s
        aggregates:
          - function: count
          - {function: avg, field: temp}
          - {function: min, field: temp}
          - {function: max, field: temp}
        sinks: [console]
        """

    @Test func configuredPipelineEqualsTheTypedReference() throws {
        let c = try load(config(pipeline: referenceYAML).replacingOccurrences(of: "  p:\n", with: "  temp-stats:\n"))
        let configured = try PipelineBuilder(configuration: c).build(named: "temp-stats").plan
        let typed = SensorReading.temperatureStats()
        let messages = simulatedMessages()
        let start = messages.first!.arrival
        let a = run(configured, messages, start: start, advanceTo: messages.last!.arrival + 60_000, finish: true)
        let b = run(typed, messages, start: start, advanceTo: messages.last!.arrival + 60_000, finish: true)
        #expect(a.lines.count > 300)
        #expect(a.lines == b.lines)
        #expect(a.deadLetters == b.deadLetters)
        #expect(a.deadLetters.count > 10)
        #expect(Set(a.deadLetters.map(\.reason)) == [.malformedInput, .missingTimestamp, .schemaViolation])
        #expect(a.late == b.late)
        #expect(!a.late.isEmpty)
    }

    @Test func everyAggregateFunctionEqualsItsTypedColumnOverSessionsAndHops() throws {
        for window in [
            "{type: session, gap: 1500ms}", "{type: hopping, size: 10s, slide: 5s}", "{type: count, size: 7}",
        ] {
            let built = try pipeline(
                """
                source: sensors
                key: {topic_segment: 1}
                timestamp: {field: ts}
                schema: {temp: number, hum: number}
                window: \(window)
                out_of_orderness: 2s
                aggregates:
                  - {function: count}
                  - {function: sum, field: temp}
                  - {function: avg, field: hum}
                  - {function: min, field: temp}
                  - {function: max, field: hum}
                  - {function: first, field: temp}
                  - {function: last, field: hum}
                  - {function: stddev, field: temp}
                  - {function: variance, field: hum, population: true}
                  - {function: percentile, field: temp, q: 0.95}
                  - {function: percentile, field: hum, q: 0.5, relative_accuracy: 0.02, name: median_hum}
                sinks: [console]
                """)
            let spec = built.config.window.spec
            let typed = Pipeline("p").plan(input: InputRecord.self) { records in
                records
                    .decodeJSON(fields: SensorReading.fields, SensorReading.decode)
                    .keyBy(\.device)
                    .eventTime(\.ts, outOfOrderness: .seconds(2))
                    .window(spec)
                    .aggregate(
                        count(), sum(\.temp), avg(\.hum), min(\.temp), max(\.hum), first(\.temp), last(\.hum),
                        stddev(\.temp), variance(\.hum, population: true), percentile(\.temp, 0.95),
                        percentile(\.hum, 0.5, relativeAccuracy: 0.02, as: "median_hum"))
            }
            let messages = simulatedMessages(devices: 5, readings: 200, seed: 3)
            let a = run(built.plan, messages, start: messages[0].arrival)
            let b = run(typed, messages, start: messages[0].arrival)
            #expect(a.lines.count > 20, "\(window)")
            #expect(a.lines == b.lines, "\(window)")
        }
    }
}

@Suite struct BuilderBehaviourTests {
    private let schemaPipeline = """
        source: sensors
        key: device
        timestamp: {field: ts}
        schema:
          device: string
          temp: number
          n: integer
          ok: boolean
          site: string?
        window: {type: count, size: 1}
        aggregates: [{function: sum, field: n}]
        sinks: [console]
        """

    @Test(
        arguments: [
            (#"{"device":"d","ts":1,"temp":1,"n":2,"ok":true"#, "malformed_input", "invalid JSON at byte"),
            (#"{"ts":1,"temp":1,"n":2,"ok":true}"#, "missing_key", "key field 'device' is missing"),
            (#"{"device":"","ts":1,"temp":1,"n":2,"ok":true}"#, "missing_key", "key field 'device' is empty"),
            (
                #"{"device":{"id":1},"ts":1,"temp":1,"n":2,"ok":true}"#, "missing_key",
                "must be a string or a number, found object"
            ),
            (#"{"device":"d","temp":1,"n":2,"ok":true}"#, "missing_timestamp", "timestamp field 'ts' is missing"),
            (
                #"{"device":"d","ts":"x","temp":1,"n":2,"ok":true}"#, "missing_timestamp",
                "is not a number of milliseconds since the epoch (found string)"
            ),
            (#"{"device":"d","ts":1,"n":2,"ok":true}"#, "schema_violation", "required field 'temp' is missing"),
            (
                #"{"device":"d","ts":1,"temp":null,"n":2,"ok":true}"#, "schema_violation",
                "field 'temp' must be a number, found null"
            ),
            (
                #"{"device":"d","ts":1,"temp":"hot","n":2,"ok":true}"#, "schema_violation",
                "field 'temp' must be a number, found string"
            ),
            (
                #"{"device":"d","ts":1,"temp":1,"n":2.5,"ok":true}"#, "schema_violation",
                "field 'n' must be an integer, found 2.5"
            ),
            (
                #"{"device":"d","ts":1,"temp":1,"n":2,"ok":"yes"}"#, "schema_violation",
                "field 'ok' must be a boolean, found string"
            ),
            (
                #"{"device":"d","ts":1,"temp":1,"n":2,"ok":true,"site":7}"#, "schema_violation",
                "field 'site' must be a string, found number"
            ),
        ] as [(String, String, String)])
    func rejectsBadRecordsWithPreciseReasons(_ payload: String, _ reason: String, _ message: String) throws {
        let built = try pipeline(schemaPipeline)
        let result = run(built.plan, [Message(payload)])
        #expect(result.results.isEmpty)
        #expect(result.deadLetters.count == 1)
        #expect(result.deadLetters.first?.reason.rawValue == reason)
        #expect(result.deadLetters.first?.message.contains(message) == true, "\(result.deadLetters)")
    }

    @Test func validRecordsPassTheSchemaAndIntegersSumExactly() throws {
        let built = try pipeline(schemaPipeline)
        let result = run(
            built.plan,
            [
                Message(#"{"device":"d","ts":1,"temp":1,"n":9007199254740993,"ok":true}"#),
                Message(#"{"device":"d","ts":2,"temp":1,"n":4.0e0,"ok":false,"site":null}"#),
            ])
        #expect(result.deadLetters.isEmpty)
        #expect(result.results.map { $0.value["sum_n"] } == [.int(9_007_199_254_740_993), .int(4)])
    }

    @Test func oversizedPayloadsAreDeadLettered() throws {
        let c = try load(
            config(pipeline: schemaPipeline).replacingOccurrences(
                of: "topics: [sensors/+/reading], key: device}", with: "topics: [sensors/+/reading], key: device, max_payload_bytes: 16}"))
        let built = try PipelineBuilder(configuration: c).build(c.pipelines[0])
        let result = run(built.plan, [Message(#"{"device":"d","ts":1,"temp":1,"n":2,"ok":true}"#)])
        #expect(result.deadLetters.map(\.reason) == [.oversized])
    }

    @Test func computeFilterAndExpressionAggregates() throws {
        let built = try pipeline(
            """
            source: sensors
            key: {topic_segment: 1}
            timestamp: {field: time, format: rfc3339}
            compute:
              fahrenheit: temp * 9 / 5 + 32
              hot: fahrenheit > 80
            filter: hot && site != 'lab'
            window: {type: tumbling, size: 1m}
            aggregates:
              - {function: count}
              - {function: max, field: fahrenheit}
              - {function: first, field: site}
              - {name: max_excess, function: max, expression: "fahrenheit - 80"}
              - {function: count, field: hum}
            sinks: [console]
            """)
        let result = run(
            built.plan,
            [
                Message(topic: "sensors/a/reading", #"{"time":"2024-01-01T00:00:01Z","temp":30,"site":"x","hum":1}"#),
                Message(topic: "sensors/a/reading", #"{"time":"2024-01-01T00:00:02Z","temp":20,"site":"x"}"#),
                Message(topic: "sensors/a/reading", #"{"time":"2024-01-01T00:00:03Z","temp":40,"site":"lab"}"#),
                Message(topic: "sensors/a/reading", #"{"time":"2024-01-01T00:00:04Z","temp":35,"site":"y"}"#),
                Message(topic: "sensors/b/reading", #"{"time":"2024-01-01T00:00:05Z","temp":"hot"}"#),
            ])
        #expect(result.deadLetters.isEmpty)
        #expect(
            result.lines
                == [
                    #"{"id":"\#(result.results[0].id)","pipeline":"p","key":"a","window_start":1704067200000,"window_end":1704067260000,"count":2,"max_fahrenheit":95,"first_site":"x","max_excess":15,"count_hum":1}"#
                ])
    }

    @Test func processingTimeAndTopicKeys() throws {
        let built = try pipeline(
            """
            source: sensors
            key: {topic_segment: 1}
            timestamp: processing_time
            window: {type: tumbling, size: 10s}
            aggregates: [{function: sum, field: v}]
            sinks: [console]
            """)
        let result = run(
            built.plan,
            [
                Message(topic: "sensors/a/reading", #"{"v":1}"#, arrival: 1_000),
                Message(topic: "sensors/a/reading", #"{"v":2}"#, arrival: 9_999),
                Message(topic: "sensors/a/reading", #"{"v":4}"#, arrival: 10_000),
                Message(topic: "sensors", #"{"v":8}"#, arrival: 10_001),
            ], advanceTo: 20_000, finish: false)
        #expect(result.results.map { $0.value["sum_v"] } == [.double(3), .double(4)])
        #expect(result.results.map(\.key) == ["a", "a"])
        #expect(result.deadLetters.map(\.message) == ["topic 'sensors' has no segment 1 (counting from 0)"])
    }

    @Test func numericKeysUseTheirJSONText() throws {
        let built = try pipeline(
            "source: sensors\nkey: meta.id\ntimestamp: {field: ts, format: epoch_s}\nwindow: {type: count, size: 1}\nsinks: [console]"
        )
        let result = run(
            built.plan, [Message(#"{"meta":{"id":42},"ts":1.5}"#), Message(#"{"meta":{"id":"x"},"ts":2}"#)])
        #expect(result.results.map(\.key) == ["42", "x"])
        #expect(result.results.map(\.window.start.milliseconds) == [1500, 2000])
    }

    @Test func theBuilderRejectsAnUnvalidatedPipeline() {
        var p = PipelineConfig(
            name: "p", source: "s", time: .processingTime, window: .count(1), sinks: ["c"])
        p.aggregates = [AggregateConfig(name: "id", function: .max, input: .field("x"))]
        #expect(throws: ConfigErrors.self) { try PipelineBuilder(configuration: PSPFConfiguration()).build(p) }
        do {
            _ = try PipelineBuilder(configuration: PSPFConfiguration()).build(p)
        } catch {
            #expect(error.map(\.code) == [.reservedName, .windowWithoutKey])
        }
    }

    @Test func theStateDescriptionNamesWindowTimeAndColumns() throws {
        let built = try pipeline(
            "source: sensors\nkey: device\ntimestamp: {field: ts}\nwindow: {type: tumbling, size: 10s}\naggregates: [{function: avg, field: t}]\nsinks: [console]"
        )
        #expect(
            built.stateDescription
                == "window tumbling(size: 10000ms, offset: 0ms) event-time(outOfOrderness: 0ms, allowedLateness: 0ms) columns [avg_t=avg]"
        )
        #expect(built.fields == ["device", "ts", "t"])
    }
}

@Suite struct DynamicColumnsTests {
    @Test func nullsAreSkippedButCountedInTheWindowCount() {
        struct Row { var x: Double? }
        let columns = DynamicColumns<Row>([
            .count(),
            DynamicColumn(name: "n", function: .count, reader: .value { $0.x.map(AggregateValue.double) ?? .null }),
            DynamicColumn(name: "avg", function: .avg, reader: .number { $0.x }),
            DynamicColumn(name: "first", function: .first, reader: .value { $0.x.map(AggregateValue.double) ?? .null }),
        ])
        let aggregator = RowAggregator(columns)
        var acc = aggregator.initial()
        for (i, x) in [nil, 2.0, nil, 4.0].enumerated() {
            aggregator.add(&acc, Row(x: x), at: Timestamp(milliseconds: Int64(i)))
        }
        let row = aggregator.result(acc)
        #expect(row.names == ["count", "n", "avg", "first"])
        #expect(row.values == [.int(4), .int(2), .double(3), .double(2)])
    }
}
