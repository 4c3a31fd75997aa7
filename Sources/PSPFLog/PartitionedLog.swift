import Logging

/// A directory of topics (`<root>/<topic>/…`): opens each topic once and closes them together.
///
/// ```swift
/// let log = try PartitionedLog(directory: "/var/lib/pspf/log", logger: logger)
/// let input = try log.topic("input", config: TopicConfig(partitions: 4))
/// let results = try log.topic("results-temp-stats", config: TopicConfig(partitions: 1, fsync: .none))
/// ...
/// try log.close()
/// ```
public final class PartitionedLog: Sendable {
    public let directory: String
    private let clock: LogClock
    private let logger: Logger
    private let topics = LockedValue<[String: LogTopic]>([:])

    /// Creates the directory if needed.
    public init(directory: String, clock: LogClock = .system, logger: Logger) throws {
        self.directory = directory
        self.clock = clock
        self.logger = logger
        if try FileSystem.makeDirectories(directory) {
            try FileSystem.syncDirectory(FileSystem.parentDirectory(directory))
        }
    }

    /// Opens (creating if needed) the topic `name`, or returns it if already open here.
    ///
    /// - Throws: `.topicMismatch` if it is open with a different configuration.
    public func topic(_ name: String, config: TopicConfig) throws -> LogTopic {
        guard TopicLayout.isValidName(name) else {
            throw LogError(.invalidArgument, "invalid topic name '\(name)': use 1...200 of [A-Za-z0-9._-], not starting with '.'")
        }
        return try topics.withLock { open in
            if let topic = open[name] {
                guard topic.config == config else {
                    throw LogError(.topicMismatch, "topic '\(name)' is already open with a different configuration")
                }
                return topic
            }
            let topic = try LogTopic.open(directory: directory + "/" + name, config: config, clock: clock, logger: logger)
            open[name] = topic
            return topic
        }
    }

    /// Names of the topics stored in the directory (open or not), sorted.
    public func topicNames() throws -> [String] {
        try Self.topicNames(in: directory)
    }

    /// Names of the topics stored in `directory`, sorted.
    public static func topicNames(in directory: String) throws -> [String] {
        try FileSystem.list(directory).filter { name in
            TopicLayout.isValidName(name) && FileSystem.exists(TopicLayout(directory: directory + "/" + name).metaPath)
        }
    }

    /// Closes every topic opened here; throws the first error after trying all.
    public func close() throws {
        let open = topics.withLock { topics in
            defer { topics.removeAll() }
            return topics.values.sorted { $0.name < $1.name }
        }
        var firstError: (any Error)?
        for topic in open {
            do { try topic.close() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}
