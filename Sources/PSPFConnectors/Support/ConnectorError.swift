/// An error from a PSPF source or sink: what went wrong (``code``), a message that says where
/// and how to fix it, the underlying error and where it was raised.
///
/// Codes work in `catch` patterns:
///
/// ```swift
/// do {
///     try handler.readPhaseEnded()
/// } catch let error as ConnectorError where error.code == .backpressure {
///     // the input topic is at its quota: the batch was not acknowledged and will come again
/// }
/// ```
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    /// An extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configuration value is invalid; the message names it.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// Messages could not be appended because the input topic is at its disk quota; they
        /// were not acknowledged and the broker redelivers them.
        public static let backpressure = Code("backpressure")
        /// Appending to or flushing the log failed; ``ConnectorError/cause`` holds the log error.
        public static let log = Code("log")
        /// The MQTT client failed; ``ConnectorError/cause`` holds the ``MQTTError``.
        public static let mqtt = Code("mqtt")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}
