import Foundation

/// Runs `body` with a fresh directory under the system temp dir and removes it afterwards,
/// even when `body` throws.
///
/// ```swift
/// try await withTemporaryDirectory { path in
///     let log = try PartitionedLog(directory: path, logger: logger)
///     …
/// }
/// ```
public func withTemporaryDirectory<T>(
    prefix: String = "pspf-test-", _ body: (String) async throws -> T
) async throws -> T {
    let path = try makeTemporaryDirectory(prefix: prefix)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Creates a fresh, empty 0700 directory under the system temp dir; the caller removes it.
public func makeTemporaryDirectory(prefix: String = "pspf-test-") throws -> String {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/\(prefix)XXXXXX".utf8CString)
    guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "mkdtemp failed: errno \(errno)"])
    }
    return String(cString: result)
}
