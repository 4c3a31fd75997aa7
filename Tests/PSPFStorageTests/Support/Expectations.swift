import PSPFStorage
import Testing

/// Expects `body` to throw an ``SQLiteError`` whose code matches `code` (a primary code matches its
/// whole family) and returns it.
@discardableResult
func expectSQLiteError(
    _ code: SQLiteError.ResultCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> SQLiteError? {
    let error = #expect(throws: SQLiteError.self, sourceLocation: sourceLocation) { try body() }
    if let error, !(code ~= error.code) {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return error
}

/// Expects `body` to throw a ``StorageError`` with `code` and returns it.
@discardableResult
func expectStorageError(
    _ code: StorageError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> StorageError? {
    let error = #expect(throws: StorageError.self, sourceLocation: sourceLocation) { try body() }
    if let error, error.code != code {
        Issue.record("expected \(code), got \(error.code): \(error)", sourceLocation: sourceLocation)
    }
    return error
}
