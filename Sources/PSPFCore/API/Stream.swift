/// An unkeyed stream of `Element`s: a *definition*, not running code. Chain operators on it,
/// then call ``plan(input:)`` and instantiate the plan once per input partition.
///
/// Windows need a key: call ``keyBy(_:)`` first (a window on an unkeyed stream does not compile).
public struct Stream<Element>: Sendable {
    public let pipelineName: String
    let inputType: InputType
    /// Builds this stage for one instance: given the downstream sink, returns the head of the
    /// whole chain — a `(Input) -> Void` closure, type-erased because `Stream` is not generic
    /// over its input.
    let connect: @Sendable (ExecutionRuntime, @escaping (Element) -> Void) -> Any

    init(
        pipelineName: String, inputType: InputType,
        connect: @escaping @Sendable (ExecutionRuntime, @escaping (Element) -> Void) -> Any
    ) {
        self.pipelineName = pipelineName
        self.inputType = inputType
        self.connect = connect
    }

    /// A stage that transforms the downstream sink.
    func via<U>(_ stage: @escaping @Sendable (ExecutionRuntime, @escaping (U) -> Void) -> (Element) -> Void) -> Stream<U> {
        let upstream = connect
        return Stream<U>(pipelineName: pipelineName, inputType: inputType) { runtime, sink in
            upstream(runtime, stage(runtime, sink))
        }
    }

    /// The executable plan. `Input` must be the type given to `Pipeline.input(_:)` (or
    /// `InputRecord` for `records()`); a mismatch is a programming error and traps.
    ///
    /// `Stream` is generic over its element only (like Flink's `DataStream<T>`), so name the
    /// input here: `stream.plan(input: Reading.self)`, or let the context infer it
    /// (`let p: PipelinePlan<Reading, _> = stream.plan()`), or build with
    /// ``Pipeline/plan(input:_:)``.
    public func plan<Input>(input: Input.Type = Input.self) -> PipelinePlan<Input, Element> {
        precondition(
            InputType(Input.self) == inputType,
            "pipeline '\(pipelineName)' takes \(inputType.name), not \(String(reflecting: Input.self))")
        return PipelinePlan(name: pipelineName, connect: connect)
    }
}

extension Stream {
    /// Transforms each element.
    public func map<U>(_ transform: @escaping @Sendable (Element) -> U) -> Stream<U> {
        via { _, sink in { sink(transform($0)) } }
    }

    /// Keeps the elements for which `isIncluded` is true.
    public func filter(_ isIncluded: @escaping @Sendable (Element) -> Bool) -> Stream<Element> {
        via { _, sink in { if isIncluded($0) { sink($0) } } }
    }

    /// Emits every element of the sequence `transform` returns, in order.
    public func flatMap<S: Sequence>(_ transform: @escaping @Sendable (Element) -> S) -> Stream<S.Element> {
        via { _, sink in { for x in transform($0) { sink(x) } } }
    }

    /// Transforms each element, dropping `nil`s silently.
    public func compactMap<U>(_ transform: @escaping @Sendable (Element) -> U?) -> Stream<U> {
        via { _, sink in { if let u = transform($0) { sink(u) } } }
    }

    /// Transforms each element; an element whose transform throws goes to the dead letters
    /// (reason from a thrown ``DeadLetterError``, else ``DeadLetterReason/operatorError``) and is
    /// counted in ``PipelineMetrics/deadLettered``. Use it to decode raw records.
    public func tryMap<U>(_ transform: @escaping @Sendable (Element) throws -> U) -> Stream<U> {
        tryMap(makingTransform: { transform })
    }

    /// Like ``tryMap(_:)``, but `makeTransform` runs once per pipeline instance, so the
    /// transform it returns may keep mutable scratch state (a reusable decode buffer, say)
    /// without locks: each instance is driven by one task.
    ///
    /// ```swift
    /// stream.tryMap(makingTransform: {
    ///     var scratch = extractor.makeValues()
    ///     return { record in try decode(record, into: &scratch) }
    /// })
    /// ```
    public func tryMap<U>(
        makingTransform makeTransform: @escaping @Sendable () -> (Element) throws -> U
    ) -> Stream<U> {
        via { runtime, sink in
            let transform = makeTransform()
            return { element in
                do {
                    sink(try transform(element))
                } catch let error as DeadLetterError {
                    runtime.reportDeadLetter(error.reason, error.message)
                } catch {
                    runtime.reportDeadLetter(.operatorError, String(describing: error))
                }
            }
        }
    }

    /// Partitions the stream by key; per-key watermarks, windows and state follow.
    public func keyBy<Key: Hashable & Sendable & Codable>(_ key: @escaping @Sendable (Element) -> Key) -> KeyedStream<Key, Element> {
        KeyedStream(upstream: self, keyOf: key, time: TimeConfig())
    }
}
