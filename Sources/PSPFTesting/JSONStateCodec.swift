import Foundation
import PSPFCore

/// A ``StateCodec`` over Foundation's JSON coders (sorted keys, so equal state encodes to equal
/// bytes). For tests and as a reference for the checkpoint store.
public struct JSONStateCodec: StateCodec, Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
