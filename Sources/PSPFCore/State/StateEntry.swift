/// One unit of operator state, for checkpoints.
///
/// Keyed operators produce one entry per key (`key` set, `value` = that key's whole state:
/// watermark, open windows with their accumulators, timers, user state); operator-wide state has
/// `key == nil`. Keys and values are encoded with the ``StateCodec`` you pass, so the storage
/// layer chooses the format (PSPFCore itself has no encoder).
public struct StateEntry: Sendable, Hashable {
    /// Which operator of the pipeline owns the entry, e.g. `"0.window"` (position among the
    /// pipeline's stateful operators, then kind). Stable as long as the pipeline's shape is.
    public var operatorID: String
    /// The encoded key, or `nil` for operator-wide state.
    public var key: [UInt8]?
    /// The encoded state.
    public var value: [UInt8]

    public init(operatorID: String, key: [UInt8]?, value: [UInt8]) {
        self.operatorID = operatorID
        self.key = key
        self.value = value
    }
}

/// Encodes and decodes state values for ``StateEntry``. The checkpoint store provides one (e.g.
/// over Foundation's `JSONEncoder` or a binary format).
public protocol StateCodec {
    func encode<T: Encodable>(_ value: T) throws -> [UInt8]
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T
    /// Whether keys and states whose type adopts ``BinaryStateCodable`` are written with their
    /// hand-rolled encoding (``BinaryStateWriter``) instead of through this codec's `Codable`
    /// path. Default `false`: only a binary codec whose format version covers the fast path
    /// should say yes, since the bytes then depend on the type, not on the codec.
    var prefersBinaryState: Bool { get }
}

extension StateCodec {
    public var prefersBinaryState: Bool { false }
}

/// Restoring state failed.
public struct StateRestoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operatorID: String
    public var message: String
    public var description: String { "cannot restore state of operator \(operatorID): \(message)" }
}
