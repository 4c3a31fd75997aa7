#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the partitioned log: what went wrong (``code``), a message saying where and how
/// to fix it, the file path and `errno` when a system call failed, and the source location that
/// raised it.
///
/// Codes work in `catch` patterns:
///
/// ```swift
/// do {
///     try topic.append(batch)
/// } catch let error as LogError where error.code == .quotaExceeded {
///     // apply backpressure: stop reading from the broker for a while
/// }
/// ```
public struct LogError: Error, CustomStringConvertible, Sendable {
    /// An extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A system call failed; see ``LogError/errno`` and ``LogError/path``.
        public static let io = Code("io")
        /// The disk quota is reached and the topic's quota policy is `.block`.
        public static let quotaExceeded = Code("quotaExceeded")
        /// A ``TopicConfig`` value is out of range.
        public static let invalidConfig = Code("invalidConfig")
        /// An argument is out of range (partition, offset, name, record size).
        public static let invalidArgument = Code("invalidArgument")
        /// The topic on disk does not match what was asked (e.g. a different partition count).
        public static let topicMismatch = Code("topicMismatch")
        /// Another process holds the topic open for writing.
        public static let locked = Code("locked")
        /// The topic was opened read-only.
        public static let readOnly = Code("readOnly")
        /// The topic is closed.
        public static let closed = Code("closed")
        /// An earlier write or fsync failed; the topic refuses further appends until reopened.
        public static let failed = Code("failed")
        /// A file's content is not in the expected format.
        public static let corrupt = Code("corrupt")
        /// A named topic or group does not exist.
        public static let notFound = Code("notFound")
    }

    public var code: Code
    public var message: String
    /// The file or directory involved, if any.
    public var path: String?
    /// The `errno` of the failed system call, if any.
    public var errno: Int32?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " (path: \(path))" }
        if let errno { text += " (errno \(errno): \(String(cString: strerror(errno))))" }
        return text
    }

    static func io(_ operation: String, path: String, errno: Int32, file: String = #fileID, line: Int = #line) -> LogError {
        LogError(.io, "\(operation) failed", path: path, errno: errno, file: file, line: line)
    }
}
