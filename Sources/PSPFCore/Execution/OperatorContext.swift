/// What an instance of a pipeline needs from its runtime: identity, processing time and the
/// side outputs.
///
/// The side-output handlers are called synchronously from inside
/// ``PipelineInstance/process(_:)`` while the element that caused them is being processed, so
/// the runtime can attach the current input record's bytes and offset.
public struct OperatorContext {
    /// The pipeline's name. ``PipelinePlan/instantiate(context:emit:)`` sets it from the plan.
    public var pipeline: String
    /// The input partition this instance processes.
    public var partition: Int
    /// The processing-time clock. The instance reads it only when you call
    /// ``PipelineInstance/advanceProcessingTime()`` and once at instantiation.
    public var clock: any PSPFClock
    /// Receives records that arrived after every window they belong to had fired.
    public var late: (LateEvent) -> Void
    /// Receives elements an operator rejected (decode failures, operator errors, …).
    public var deadLetter: (DeadLetterEvent) -> Void

    public init(
        pipeline: String = "",
        partition: Int = 0,
        clock: any PSPFClock = SystemClock(),
        late: @escaping (LateEvent) -> Void = { _ in },
        deadLetter: @escaping (DeadLetterEvent) -> Void = { _ in }
    ) {
        self.pipeline = pipeline
        self.partition = partition
        self.clock = clock
        self.late = late
        self.deadLetter = deadLetter
    }
}

/// A record that arrived after every window it belongs to had already fired.
public struct LateEvent: Sendable, Hashable {
    /// `String(describing: key)`.
    public var keyDescription: String
    /// The record's event time.
    public var eventTime: Timestamp
    /// The key's watermark when the record arrived (before the record was applied).
    public var watermark: Timestamp
    /// The (last) window the record would have belonged to.
    public var window: Window

    public init(keyDescription: String, eventTime: Timestamp, watermark: Timestamp, window: Window) {
        self.keyDescription = keyDescription
        self.eventTime = eventTime
        self.watermark = watermark
        self.window = window
    }
}

/// Why an element went to the dead letters. Extensible: define your own codes with
/// `DeadLetterReason(rawValue:)`.
public struct DeadLetterReason: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let malformedInput = DeadLetterReason("malformed_input")
    public static let missingKey = DeadLetterReason("missing_key")
    public static let missingTimestamp = DeadLetterReason("missing_timestamp")
    public static let timestampOutOfRange = DeadLetterReason("timestamp_out_of_range")
    public static let schemaViolation = DeadLetterReason("schema_violation")
    public static let oversized = DeadLetterReason("oversized")
    public static let operatorError = DeadLetterReason("operator_error")
}

/// An element rejected by an operator.
public struct DeadLetterEvent: Sendable, Hashable {
    public var reason: DeadLetterReason
    public var message: String

    public init(reason: DeadLetterReason, message: String) {
        self.reason = reason
        self.message = message
    }
}

/// Throw this from a ``Stream/tryMap(_:)`` transform to send the element to the dead letters
/// with a specific reason. Any other error is reported as ``DeadLetterReason/operatorError``.
public struct DeadLetterError: Error, Sendable, Hashable {
    public var reason: DeadLetterReason
    public var message: String

    public init(_ reason: DeadLetterReason, _ message: String) {
        self.reason = reason
        self.message = message
    }
}

/// Counters of one pipeline instance.
public struct PipelineMetrics: Sendable, Hashable, Codable {
    /// Elements passed to `process`.
    public var processed: Int64 = 0
    /// Records sent to the late side output.
    public var late: Int64 = 0
    /// Elements sent to the dead letters.
    public var deadLettered: Int64 = 0
    /// Windows currently open (a gauge).
    public var windowsOpen: Int64 = 0
    /// Windows emitted so far.
    public var windowsEmitted: Int64 = 0

    public init() {}
}
