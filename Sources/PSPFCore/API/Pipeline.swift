/// The start of a pipeline definition. The name is part of every result id.
///
/// ```swift
/// let stats = Pipeline("temp-stats")
///     .input(Reading.self)
///     .keyBy(\.device)
///     .eventTime(\.ts, outOfOrderness: .seconds(2))
///     .window(.tumbling(size: .seconds(10)))
///     .aggregate(count(), avg(\.temp), min(\.temp), max(\.temp))
/// ```
public struct Pipeline: Sendable {
    public let name: String

    public init(_ name: String) { self.name = name }

    /// A typed input: the pipeline instance is fed `T` values (tests, code-defined sources).
    public func input<T>(_ type: T.Type = T.self) -> Stream<T> {
        Stream(pipelineName: name, inputType: InputType(T.self)) { _, sink in sink }
    }

    /// Defines and plans a pipeline in one step, keeping the input type:
    ///
    /// ```swift
    /// let plan = Pipeline("temp-stats").plan(input: Reading.self) { readings in
    ///     readings.keyBy(\.device).window(.count(10)).aggregate(avg(\.temp))
    /// }
    /// ```
    public func plan<Input, Output>(
        input: Input.Type, _ build: (Stream<Input>) -> Stream<Output>
    ) -> PipelinePlan<Input, Output> {
        build(self.input(Input.self)).plan(input: Input.self)
    }

    /// Raw input records from a log or MQTT source; decode them with ``Stream/tryMap(_:)``.
    public func records() -> Stream<InputRecord> { input(InputRecord.self) }
}

/// The pipeline's input type, recorded so ``Stream/plan(input:)`` can check it.
struct InputType: Sendable, Hashable {
    let id: ObjectIdentifier
    let name: String
    init<T>(_ type: T.Type) {
        id = ObjectIdentifier(type)
        name = String(reflecting: type)
    }
}
