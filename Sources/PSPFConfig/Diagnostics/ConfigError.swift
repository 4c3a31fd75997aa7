/// One problem in a configuration file: what is wrong, where (file:line:column and the key
/// path), and how to fix it.
///
/// ```
/// config/demo.yaml:12:9: error: pipelines.temp-stats.window.size: invalid duration '10x' (hint: use 500ms, 10s, 5m or 1h)
/// ```
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is; match on it in tests and tools, not on the message.
    public var code: Code
    /// The configuration file (as given to the loader).
    public var file: String
    /// 1-based line, or 0 when the problem has no single place in the file (a configuration
    /// built in code, or a file that cannot be read).
    public var line: Int
    /// 1-based column, counted in Unicode scalars like libyaml does; 0 when `line` is 0.
    public var column: Int
    /// The key path of the offending value, e.g. `pipelines.temp-stats.window.size` or
    /// `pipelines.temp-stats.aggregates[2].q`; empty for the whole file.
    public var path: String
    /// What is wrong.
    public var message: String
    /// How to fix it, when there is something useful to say.
    public var hint: String?

    public init(
        code: Code, file: String, line: Int, column: Int, path: String, message: String, hint: String? = nil
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.hint = hint
    }

    /// `file:line:column: error: path: message (hint: …)`.
    public var description: String {
        var text = file
        if line > 0 { text += ":\(line):\(column)" }
        text += ": error: "
        if !path.isEmpty { text += path + ": " }
        text += message
        if let hint { text += " (hint: \(hint))" }
        return text
    }

    /// An extensible error code (`ConfigError.Code.unknownKey`, …).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file could not be read.
        public static let io = Code("io")
        /// The file is not valid YAML.
        public static let yamlSyntax = Code("yaml_syntax")
        /// A mapping repeats a key.
        public static let duplicateKey = Code("duplicate_key")
        /// A key that is not part of the format at this place.
        public static let unknownKey = Code("unknown_key")
        /// A required key is absent.
        public static let missingKey = Code("missing_key")
        /// A value of the wrong kind (a list where a mapping belongs, text where a number does).
        public static let wrongType = Code("wrong_type")
        /// A value of the right kind that is not allowed (out of range, not one of the choices).
        public static let invalidValue = Code("invalid_value")
        /// A duration that cannot be parsed or is out of range.
        public static let invalidDuration = Code("invalid_duration")
        /// A byte size that cannot be parsed or is out of range.
        public static let invalidSize = Code("invalid_size")
        /// `${VAR}` names a variable that is not set and has no default, or is malformed.
        public static let interpolation = Code("interpolation")
        /// A `*_file` secret cannot be read, or is empty.
        public static let secretFile = Code("secret_file")
        /// A file the configuration names (a TLS certificate, say) does not exist.
        public static let fileNotFound = Code("file_not_found")
        /// Two keys that exclude each other, or one that needs another.
        public static let conflict = Code("conflict")
        /// A name that refers to a broker, source or sink that is not defined.
        public static let undefinedReference = Code("undefined_reference")
        /// Two entries with the same name.
        public static let duplicateName = Code("duplicate_name")
        /// An aggregate column named like a field of the result object.
        public static let reservedName = Code("reserved_name")
        /// A window on a pipeline without a key.
        public static let windowWithoutKey = Code("window_without_key")
        /// A syntax error in an expression.
        public static let expressionSyntax = Code("expression_syntax")
        /// An expression that cannot work: mismatched types, unknown function, wrong arguments.
        public static let expressionType = Code("expression_type")
        /// An expression or aggregate refers to a field the schema does not declare.
        public static let unknownField = Code("unknown_field")
        /// The `version` is not one this build understands.
        public static let unsupportedVersion = Code("unsupported_version")
    }
}

/// Every problem found in a configuration file, sorted by position. Its `description` prints
/// one error per line, ready for a terminal.
public struct ConfigErrors: Error, Sendable, Hashable, RandomAccessCollection, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors.sorted { a, b in
            if a.file != b.file { return a.file < b.file }
            if a.line != b.line { return a.line < b.line }
            if a.column != b.column { return a.column < b.column }
            return a.path < b.path
        }
    }

    public var startIndex: Int { errors.startIndex }
    public var endIndex: Int { errors.endIndex }
    public subscript(position: Int) -> ConfigError { errors[position] }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
