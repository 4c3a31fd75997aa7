/// How an operator encodes one of its state types for a snapshot: with the type's hand-rolled
/// encoding when it has one (``BinaryStateCodable``) and the codec asks for it
/// (``StateCodec/prefersBinaryState``), else through the codec's `Codable` path.
///
/// The fast path is looked up once, here, not per value; encoding reuses one buffer and
/// allocates only the exact-size result.
struct StateValueCoding<Value: Codable> {
    private let fastPath: BinaryStateFastPath<Value>?
    /// Whether `Value` has a fast path (a stored flag: testing the optional would copy it,
    /// retaining its closures, on every call).
    let hasFastPath: Bool
    private var writer = BinaryStateWriter(capacity: 0)

    init() {
        fastPath = BinaryStateFastPath(Value.self)
        hasFastPath = fastPath != nil
    }

    mutating func encode(_ value: Value, with codec: any StateCodec) throws -> [UInt8] {
        if hasFastPath && codec.prefersBinaryState {
            writer.removeAll()
            fastPath.unsafelyUnwrapped.write(value, &writer)
            return writer.copyBytes()
        }
        return try codec.encode(value)
    }

    func decode(_ bytes: [UInt8], with codec: any StateCodec) throws -> Value {
        if hasFastPath && codec.prefersBinaryState { return try fastPath.unsafelyUnwrapped.decode(bytes) }
        return try codec.decode(Value.self, from: bytes)
    }
}
