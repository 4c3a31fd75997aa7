/// A secret configuration value (a password, a bearer token): its text never appears in
/// `description`, `debugDescription`, `dump`, string interpolation or reflection, so logging a
/// configuration struct cannot leak it. Read it with ``reveal()`` where it is used.
///
/// ```swift
/// let password = Secret("hunter2", origin: .file("/run/credentials/pspf/mqtt"))
/// print(password)            // <redacted>
/// client.password = password.reveal()
/// ```
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Where a secret came from; safe to show.
    public enum Origin: Sendable, Hashable, CustomStringConvertible {
        /// Written in the configuration file (possibly through `${VAR}` interpolation).
        case inline
        /// Read from a file at load time (`password_file`, `bearer_token_file`, `token_file`).
        case file(String)

        public var description: String {
            switch self {
            case .inline: "inline"
            case .file(let path): "file \(path)"
            }
        }
    }

    private let value: String
    /// Where the secret came from.
    public let origin: Origin

    public init(_ value: String, origin: Origin = .inline) {
        self.value = value
        self.origin = origin
    }

    /// The secret's text. Call it only where the secret is handed to its consumer.
    public func reveal() -> String { value }

    /// Whether the secret is empty (safe to ask).
    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
