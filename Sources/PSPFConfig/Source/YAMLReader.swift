import Yams

/// Reads YAML text into a ``ConfigNode`` tree with `Yams.compose`, keeping every node's mark,
/// resolving merge keys (`<<: *defaults`) and interpolating scalar values.
enum YAMLReader {
    static func read(_ text: String, variables: [String: String], diagnostics: Diagnostics) -> ConfigNode? {
        let root: Node?
        do {
            // The basic resolver (no implicit-tag rules): the converter types scalars itself, and
            // Yams' default rules are NSRegularExpressions, whose first use starts ICU's regex
            // engine and Unicode tables — measured as the only ICU use in the daemon.
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            report(error, text: text, diagnostics: diagnostics)
            return nil
        } catch {
            diagnostics.error(.yamlSyntax, "", "cannot parse YAML: \(error)", at: SourceLocation(line: 1, column: 1))
            return nil
        }
        guard let root else {
            diagnostics.error(
                .missingKey, "", "the configuration is empty", hint: "start with 'version: 1'; see config/minimal.yaml",
                at: SourceLocation(line: 1, column: 1))
            return nil
        }
        let converter = Converter(variables: variables, diagnostics: diagnostics)
        return converter.convert(root, fallback: SourceLocation(line: 1, column: 1))
    }

    private struct Converter {
        let variables: [String: String]
        let diagnostics: Diagnostics

        func convert(_ node: Node, fallback: SourceLocation, interpolate: Bool = true) -> ConfigNode {
            let location = node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? fallback
            switch node {
            case .scalar(let scalar):
                return ConfigNode(.scalar(convert(scalar, at: location, interpolate: interpolate)), at: location)
            case .sequence(let sequence):
                return ConfigNode(.sequence(sequence.map { convert($0, fallback: location) }), at: location)
            case .mapping(let mapping):
                return ConfigNode(.mapping(entries(of: mapping, at: location)), at: location)
            case .alias(let alias):
                // Yams resolves aliases while composing; an unresolved one is reported as a parse error.
                return ConfigNode(
                    .scalar(
                        ConfigNode.Scalar(
                            text: "", raw: "", isNull: true, isQuoted: false, interpolation: InterpolationMap())),
                    at: alias.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? location)
            }
        }

        private func convert(_ scalar: Node.Scalar, at location: SourceLocation, interpolate: Bool) -> ConfigNode.Scalar
        {
            let raw = scalar.string
            let quoted = scalar.style != .plain && scalar.style != .any
            let literalNull = !quoted && ["", "~", "null", "Null", "NULL"].contains(raw)
            var text = raw
            var map = InterpolationMap()
            var failed = false
            if interpolate && !literalNull {
                switch Interpolation.apply(raw, variables: variables) {
                case .success(let (value, offsets)):
                    text = value
                    map = offsets
                case .failure(let failure):
                    failed = true
                    let node = ConfigNode(
                        .scalar(
                            ConfigNode.Scalar(text: raw, raw: raw, isNull: false, isQuoted: quoted, interpolation: map)),
                        at: location)
                    diagnostics.error(
                        .interpolation, "", failure.message, hint: failure.hint,
                        at: diagnostics.location(of: node, rawOffset: failure.offset))
                }
            }
            let isNull = literalNull || (!quoted && text.isEmpty)
            var result = ConfigNode.Scalar(text: text, raw: raw, isNull: isNull, isQuoted: quoted, interpolation: map)
            result.isInvalid = failed
            return result
        }

        private func entries(of mapping: Node.Mapping, at location: SourceLocation) -> [(
            key: ConfigNode, value: ConfigNode
        )] {
            var explicit: [(key: ConfigNode, value: ConfigNode)] = []
            var merged: [(key: ConfigNode, value: ConfigNode)] = []
            for (key, value) in mapping {
                if case .scalar(let k) = key, k.string == "<<", k.style == .plain || k.style == .any {
                    let sources: [Node] = if case .sequence(let s) = value { Array(s) } else { [value] }
                    for source in sources {
                        if case .mapping(let m) = source {
                            merged += entries(of: m, at: location)
                        } else {
                            let mark = source.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? location
                            diagnostics.error(
                                .wrongType, "", "a merge key '<<' needs a mapping or a list of mappings",
                                hint: "write '<<: *anchor' where the anchor names a mapping", at: mark)
                        }
                    }
                    continue
                }
                explicit.append(
                    (convert(key, fallback: location, interpolate: false), convert(value, fallback: location)))
            }
            // Explicit keys win over merged ones; among merged mappings the first wins.
            var names = Set(explicit.compactMap { $0.key.scalar?.text })
            for entry in merged {
                guard let name = entry.key.scalar?.text, names.insert(name).inserted else { continue }
                explicit.append(entry)
            }
            return explicit
        }
    }

    private static func report(_ error: YamlError, text: String, diagnostics: Diagnostics) {
        func location(_ mark: Mark) -> SourceLocation { SourceLocation(line: mark.line, column: mark.column) }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            diagnostics.error(.yamlSyntax, "", message, hint: yamlHint(problem), at: location(mark))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let first = location(context.mark)
            let second = secondOccurrence(of: key, after: first, in: text)
            diagnostics.error(
                .duplicateKey, "",
                "duplicate key '\(key)'" + (second != nil ? " (first defined at line \(first.line))" : ""),
                hint: "a key may appear only once in a mapping; remove one of them", at: second ?? first)
        case .reader(let problem, let offset, _, _):
            var line = 1
            var column = 1
            if let offset {
                for byte in text.utf8.prefix(offset) {
                    if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
                }
            }
            diagnostics.error(
                .yamlSyntax, "", "cannot read YAML: \(problem)", at: SourceLocation(line: line, column: column))
        default:
            diagnostics.error(.yamlSyntax, "", "cannot parse YAML: \(error)", at: SourceLocation(line: 1, column: 1))
        }
    }

    private static func yamlHint(_ problem: String) -> String? {
        if problem.contains("tab") { return "indent with spaces, not tabs" }
        if problem.contains("mapping values are not allowed") {
            return "quote values that contain ': ' (e.g. expressions or URLs)"
        }
        if problem.contains("found character that cannot start any token") {
            return "quote values that start with '!', '&', '*', '@', '`', '%' or '|' (e.g. filter: \"!alarm\")"
        }
        return nil
    }

    /// The next line after `first` where `key:` starts at the same column: the repeated key.
    private static func secondOccurrence(of key: String, after first: SourceLocation, in text: String)
        -> SourceLocation?
    {
        let lines = SourceText(text).lines
        guard first.line >= 1 else { return nil }
        for index in first.line..<lines.count {
            let line = lines[index]
            guard first.column - 1 < line.count else { continue }
            let rest = String(String.UnicodeScalarView(line[(first.column - 1)...]))
            let before = line[..<(first.column - 1)]
            guard before.allSatisfy({ $0 == " " || $0 == "-" }) else { continue }
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(candidate + ":") {
                return SourceLocation(line: index + 1, column: first.column)
            }
        }
        return nil
    }
}
