/// Collects every error of one load (or one build) with its location. Readers register the node
/// of each key path they visit, so later checks (references, expressions, schema) can report by
/// path and still point at the right line and column.
final class Diagnostics {
    let file: String
    let source: SourceText?
    private(set) var errors: [ConfigError] = []
    private var seen = Set<ConfigError>()
    private var nodes: [String: ConfigNode] = [:]

    init(file: String, source: SourceText?) {
        self.file = file
        self.source = source
    }

    var hasErrors: Bool { !errors.isEmpty }

    /// Remembers where the value at `path` is (the first registration wins).
    func register(_ path: String, _ node: ConfigNode) {
        if nodes[path] == nil { nodes[path] = node }
    }

    func node(at path: String) -> ConfigNode? { nodes[path] }

    /// The node at `path`, or at its nearest registered ancestor.
    func nearestNode(to path: String) -> ConfigNode? {
        var path = path
        while true {
            if let node = nodes[path] { return node }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nodes[""] }
            path = String(path[..<cut])
        }
    }

    /// Where offset `offset` of a scalar's interpolated text is in the file.
    func location(of node: ConfigNode, textOffset offset: Int) -> SourceLocation {
        guard let scalar = node.scalar else { return node.location }
        return location(of: node, rawOffset: scalar.interpolation.rawOffset(of: offset))
    }

    /// Where offset `offset` of a scalar's raw (uninterpolated) text is in the file.
    func location(of node: ConfigNode, rawOffset offset: Int) -> SourceLocation {
        guard let scalar = node.scalar, let source else { return node.location }
        return source.location(ofOffset: offset, inValue: Array(scalar.raw.unicodeScalars), startingAt: node.location)
            ?? node.location
    }

    /// Records an error at an explicit location.
    func error(
        _ code: ConfigError.Code, _ path: String, _ message: String, hint: String? = nil, at location: SourceLocation
    ) {
        let error = ConfigError(
            code: code, file: file, line: location.line, column: location.column, path: path, message: message,
            hint: hint)
        if seen.insert(error).inserted { errors.append(error) }
    }

    /// Records an error at `node` (or, without one, at the node registered for `path` or its
    /// nearest ancestor); `offset` is a position inside the scalar's interpolated text.
    func error(
        _ code: ConfigError.Code, _ path: String, _ message: String, hint: String? = nil, node: ConfigNode? = nil,
        offset: Int? = nil
    ) {
        let location: SourceLocation
        if let target = node ?? nearestNode(to: path) {
            location = offset.map { self.location(of: target, textOffset: $0) } ?? target.location
        } else {
            location = .unknown
        }
        error(code, path, message, hint: hint, at: location)
    }

    func collected() -> ConfigErrors { ConfigErrors(errors) }
}

/// Joins key paths: `join("pipelines", "temp-stats")` → `pipelines.temp-stats`.
func join(_ base: String, _ key: String) -> String { base.isEmpty ? key : base + "." + key }

/// `aggregates[2]`.
func join(_ base: String, index: Int) -> String { "\(base)[\(index)]" }
