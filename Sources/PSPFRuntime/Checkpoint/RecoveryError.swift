/// Recovery found something it must not paper over. Every message says what, where, and what
/// to do; nothing was changed unless the message says so.
public struct RecoveryError: Error, Sendable, CustomStringConvertible {
    /// Extensible: match with `==` or in `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The output log holds records but the state database has no checkpoint: the state that
        /// produced them is gone (a deleted or new database next to an old log).
        public static let outputWithoutCheckpoint = Code("outputWithoutCheckpoint")
        /// An output log partition ends before its checkpointed end: records that a checkpoint
        /// covered were lost from the log (deleted files, a damaged disk).
        public static let outputLogShort = Code("outputLogShort")
        /// An input partition ends before its checkpointed next offset.
        public static let inputLogShort = Code("inputLogShort")
        /// The checkpointed state belongs to a differently shaped pipeline.
        public static let pipelineChanged = Code("pipelineChanged")
        /// Retention deleted input the rebuild would need (see `allowPartial`).
        public static let inputIncomplete = Code("inputIncomplete")
        /// A rebuild was asked of a store that already holds a checkpoint of the pipeline.
        public static let storeNotEmpty = Code("storeNotEmpty")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
