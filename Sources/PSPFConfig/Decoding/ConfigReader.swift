import Foundation

/// Typed reading of configuration values. Every accessor returns `nil` after recording an error
/// with the value's location, so one pass over the file finds every problem.
struct ConfigReader {
    let diagnostics: Diagnostics
    let environment: ConfigEnvironment
    /// The directory of the configuration file: relative paths are resolved against it.
    let baseDirectory: String

    // MARK: Scalars

    func scalar(_ node: ConfigNode, _ path: String, expected: String) -> ConfigNode.Scalar? {
        diagnostics.register(path, node)
        guard let scalar = node.scalar else {
            diagnostics.error(.wrongType, path, "expected \(expected), found \(node.kindDescription)", node: node)
            return nil
        }
        guard !scalar.isNull else {
            diagnostics.error(.wrongType, path, "expected \(expected), found null", node: node)
            return nil
        }
        if scalar.isInvalid { return nil }  // its ${VAR} failed; reported once, where it is
        return scalar
    }

    func string(_ node: ConfigNode, _ path: String, allowEmpty: Bool = false) -> String? {
        guard let s = scalar(node, path, expected: "a string") else { return nil }
        if !allowEmpty && s.text.isEmpty {
            diagnostics.error(.invalidValue, path, "must not be empty", node: node)
            return nil
        }
        return s.text
    }

    func int(_ node: ConfigNode, _ path: String, in range: ClosedRange<Int>? = nil, hint: String? = nil) -> Int? {
        guard let s = scalar(node, path, expected: "an integer") else { return nil }
        let text = s.text.replacingOccurrences(of: "_", with: "")
        guard let value = Int(text) else {
            diagnostics.error(.wrongType, path, "expected an integer, found '\(s.text)'", hint: hint, node: node)
            return nil
        }
        if let range, !range.contains(value) {
            diagnostics.error(
                .invalidValue, path, "\(value) is out of range (\(range.lowerBound)…\(range.upperBound))", hint: hint,
                node: node)
            return nil
        }
        return value
    }

    func double(_ node: ConfigNode, _ path: String) -> Double? {
        guard let s = scalar(node, path, expected: "a number") else { return nil }
        guard let value = Double(s.text), value.isFinite else {
            diagnostics.error(.wrongType, path, "expected a number, found '\(s.text)'", node: node)
            return nil
        }
        return value
    }

    func bool(_ node: ConfigNode, _ path: String) -> Bool? {
        guard let s = scalar(node, path, expected: "true or false") else { return nil }
        switch s.text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            diagnostics.error(
                .wrongType, path, "expected true or false, found '\(s.text)'",
                hint: ["yes", "no", "on", "off", "y", "n"].contains(s.text.lowercased())
                    ? "YAML 1.1 spellings are not accepted; write true or false" : nil,
                node: node)
            return nil
        }
    }

    /// A duration in whole milliseconds, `> 0` unless `allowZero`, at most `maximum` ms.
    func duration(
        _ node: ConfigNode, _ path: String, allowZero: Bool = false, maximum: Int64 = 1 << 60
    ) -> Duration? {
        guard let s = scalar(node, path, expected: "a duration") else { return nil }
        guard let ms = ConfigDuration.milliseconds(parsing: s.text) else {
            let bare = Int64(s.text) != nil || Double(s.text) != nil
            diagnostics.error(
                .invalidDuration, path, "invalid duration '\(s.text)'",
                hint: bare ? "add a unit: \(s.text)ms, \(s.text)s, \(s.text)m or \(s.text)h" : ConfigDuration.hint,
                node: node)
            return nil
        }
        if ms == 0 && !allowZero {
            diagnostics.error(
                .invalidDuration, path, "must be greater than zero", hint: ConfigDuration.hint, node: node)
            return nil
        }
        if ms > maximum {
            diagnostics.error(
                .invalidDuration, path,
                "'\(s.text)' is too long (at most \(ConfigDuration.format(milliseconds: maximum)))",
                node: node)
            return nil
        }
        return .milliseconds(ms)
    }

    func size(_ node: ConfigNode, _ path: String, minimum: Int64 = 1, maximum: Int64 = .max) -> ByteSize? {
        guard let s = scalar(node, path, expected: "a size") else { return nil }
        guard let bytes = ByteSize.parse(s.text) else {
            diagnostics.error(.invalidSize, path, "invalid size '\(s.text)'", hint: ByteSize.hint, node: node)
            return nil
        }
        if bytes < minimum || bytes > maximum {
            let range =
                maximum == .max
                ? "at least \(ByteSize(bytes: minimum))" : "\(ByteSize(bytes: minimum))…\(ByteSize(bytes: maximum))"
            diagnostics.error(.invalidSize, path, "size '\(s.text)' is out of range (\(range))", node: node)
            return nil
        }
        return ByteSize(bytes: bytes)
    }

    /// One of a fixed set of words.
    func choice<T>(_ node: ConfigNode, _ path: String, _ options: KeyValuePairs<String, T>) -> T? {
        let names = options.map(\.key)
        guard let s = scalar(node, path, expected: "one of \(names.joined(separator: ", "))") else { return nil }
        if let match = options.first(where: { $0.key == s.text }) { return match.value }
        diagnostics.error(
            .invalidValue, path, "invalid value '\(s.text)' (expected one of: \(names.joined(separator: ", ")))",
            hint: Suggestions.didYouMean(s.text, in: names), node: node)
        return nil
    }

    /// A file path; relative paths are resolved against the configuration file's directory.
    func filePath(_ node: ConfigNode, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        return resolve(text)
    }

    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || baseDirectory.isEmpty { return path }
        return baseDirectory.hasSuffix("/") ? baseDirectory + path : baseDirectory + "/" + path
    }

    /// Checks that a named file exists (when the environment can tell).
    func checkExists(_ file: String, _ node: ConfigNode, _ path: String) {
        guard let exists = environment.fileExists, !exists(file) else { return }
        diagnostics.error(.fileNotFound, path, "file '\(file)' does not exist", node: node)
    }

    /// Reads a secret file: the whole content minus one trailing newline (`\n` or `\r\n`).
    func secretFile(_ node: ConfigNode, _ path: String) -> Secret? {
        guard let file = filePath(node, path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try environment.readFile(file)
        } catch {
            diagnostics.error(
                .secretFile, path, "cannot read secret file '\(file)': \(error.fileReadReason)",
                hint: "the daemon's user must be able to read it (systemd: LoadCredential=)", node: node)
            return nil
        }
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r\n") {
            text.removeLast()  // "\r\n" is one Character
        } else if text.hasSuffix("\n") {
            text.removeLast()
        }
        if text.isEmpty {
            diagnostics.error(.secretFile, path, "secret file '\(file)' is empty", node: node)
            return nil
        }
        return Secret(text, origin: .file(file))
    }

    // MARK: Containers

    func mapping(_ node: ConfigNode, _ path: String, what: String) -> MappingReader? {
        diagnostics.register(path, node)
        guard case .mapping(let entries) = node.kind else {
            diagnostics.error(
                .wrongType, path, "expected \(what) (a mapping), found \(node.kindDescription)", node: node)
            return nil
        }
        return MappingReader(entries: entries, node: node, path: path, reader: self)
    }

    func list(_ node: ConfigNode, _ path: String, what: String) -> [(node: ConfigNode, path: String)]? {
        diagnostics.register(path, node)
        guard case .sequence(let items) = node.kind else {
            let example = node.scalar.map { "write a list: [\($0.text)]" }
            diagnostics.error(
                .wrongType, path, "expected a list of \(what), found \(node.kindDescription)", hint: example, node: node
            )
            return nil
        }
        return items.enumerated().map { (i, item) in
            let itemPath = join(path, index: i)
            diagnostics.register(itemPath, item)
            return (item, itemPath)
        }
    }

    /// Checks a user-chosen name (broker, source, pipeline, sink): 1–64 of `[A-Za-z0-9._-]`,
    /// starting with a letter or digit. Names end up in result ids, consumer groups and files.
    func checkName(_ name: String, _ node: ConfigNode, _ path: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        let valid =
            !scalars.isEmpty && scalars.count <= 64
            && scalars.allSatisfy { c in
                switch c {
                case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
                default: false
                }
            } && scalars[0] != "." && scalars[0] != "-" && scalars[0] != "_"
        if !valid {
            diagnostics.error(
                .invalidValue, path, "invalid name '\(name)'",
                hint: "use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit", node: node)
        }
        return valid
    }
}

/// Reads one mapping. Keyed accessors mark keys as known; ``finish()`` then reports every key
/// that no accessor asked for (with a did-you-mean among the known ones) and every missing
/// required key — merged into one error when an unknown key is a misspelling of a missing one.
final class MappingReader {
    let node: ConfigNode
    let path: String
    let reader: ConfigReader
    private let entries: [(key: String, keyNode: ConfigNode, value: ConfigNode)]
    private var known: [String] = []
    private var missing: [(key: String, hint: String?)] = []
    private var explanations: [String: String] = [:]

    var diagnostics: Diagnostics { reader.diagnostics }

    fileprivate init(
        entries: [(key: ConfigNode, value: ConfigNode)], node: ConfigNode, path: String, reader: ConfigReader
    ) {
        self.node = node
        self.path = path
        self.reader = reader
        self.entries = entries.map { (key: $0.key.scalar?.text ?? "", keyNode: $0.key, value: $0.value) }
        for entry in self.entries { reader.diagnostics.register(join(path, entry.key), entry.value) }
    }

    /// The keys present, in file order (for mappings keyed by user-chosen names).
    var presentKeys: [(key: String, keyNode: ConfigNode, value: ConfigNode)] { entries }

    func has(_ key: String) -> Bool {
        entries.contains { $0.key == key && !$0.value.isNull }
    }

    /// The value of `key`, or `nil` when absent or null. Marks the key as known.
    func value(_ key: String) -> ConfigNode? {
        if !known.contains(key) { known.append(key) }
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isNull else { return nil }
        return entry.value
    }

    /// Like ``value(_:)``, recording a missing-key error when absent.
    func required(_ key: String, hint: String? = nil) -> ConfigNode? {
        guard let node = value(key) else {
            missing.append((key, hint))
            return nil
        }
        return node
    }

    /// Marks keys as known without reading them (read elsewhere, or only valid in another branch).
    func accept(_ keys: String...) {
        for key in keys where !known.contains(key) { known.append(key) }
    }

    func keyPath(_ key: String) -> String { join(path, key) }

    /// Explains why `keys`, if present, are unknown here (they belong to another `type`).
    func explain(_ key: String, _ why: String) {
        if explanations[key] == nil { explanations[key] = why }
    }

    /// Explains keys that belong to other variants: `keysByVariant` maps a variant (`hopping`)
    /// to its keys; `what` names the variants (`windows`, `sinks`).
    func explainVariants(_ keysByVariant: KeyValuePairs<String, [String]>, current: String, what: String) {
        var variantsOfKey: [String: [String]] = [:]
        var order: [String] = []
        for (variant, keys) in keysByVariant where variant != current {
            for key in keys {
                if variantsOfKey[key] == nil { order.append(key) }
                variantsOfKey[key, default: []].append(variant)
            }
        }
        for key in order {
            let variants = variantsOfKey[key]!
            let list =
                variants.count == 1
                ? variants[0] : variants.dropLast().joined(separator: ", ") + " and " + variants.last!
            explain(key, "'\(key)' applies to \(list) \(what); this one is \(current)")
        }
    }

    func string(_ key: String, required isRequired: Bool = false, hint: String? = nil) -> String? {
        guard let node = isRequired ? required(key, hint: hint) : value(key) else { return nil }
        return reader.string(node, keyPath(key))
    }

    func int(_ key: String, in range: ClosedRange<Int>? = nil, required isRequired: Bool = false) -> Int? {
        guard let node = isRequired ? required(key) : value(key) else { return nil }
        return reader.int(node, keyPath(key), in: range)
    }

    func double(_ key: String, required isRequired: Bool = false, hint: String? = nil) -> Double? {
        guard let node = isRequired ? required(key, hint: hint) : value(key) else { return nil }
        return reader.double(node, keyPath(key))
    }

    func bool(_ key: String) -> Bool? {
        guard let node = value(key) else { return nil }
        return reader.bool(node, keyPath(key))
    }

    func duration(_ key: String, allowZero: Bool = false, required isRequired: Bool = false, maximum: Int64 = 1 << 60)
        -> Duration?
    {
        guard let node = isRequired ? required(key) : value(key) else { return nil }
        return reader.duration(node, keyPath(key), allowZero: allowZero, maximum: maximum)
    }

    func size(_ key: String, minimum: Int64 = 1, maximum: Int64 = .max) -> ByteSize? {
        guard let node = value(key) else { return nil }
        return reader.size(node, keyPath(key), minimum: minimum, maximum: maximum)
    }

    func choice<T>(_ key: String, _ options: KeyValuePairs<String, T>, required isRequired: Bool = false) -> T? {
        guard let node = isRequired ? required(key) : value(key) else { return nil }
        return reader.choice(node, keyPath(key), options)
    }

    func filePath(_ key: String, mustExist: Bool = false) -> String? {
        guard let node = value(key), let file = reader.filePath(node, keyPath(key)) else { return nil }
        if mustExist { reader.checkExists(file, node, keyPath(key)) }
        return file
    }

    /// A secret given inline (`key`) or read from a file (`key_file`), not both.
    func secret(_ key: String) -> Secret? {
        let fileKey = key + "_file"
        let inline = value(key)
        let file = value(fileKey)
        if let inline, file != nil {
            diagnostics.error(
                .conflict, keyPath(key), "set either '\(key)' or '\(fileKey)', not both",
                hint: "keep '\(fileKey)' so the secret stays out of the configuration file", node: inline)
            return nil
        }
        if let inline, let text = reader.string(inline, keyPath(key)) { return Secret(text) }
        if let file { return reader.secretFile(file, keyPath(fileKey)) }
        return nil
    }

    func mapping(_ key: String, what: String, required isRequired: Bool = false) -> MappingReader? {
        guard let node = isRequired ? required(key) : value(key) else { return nil }
        return reader.mapping(node, keyPath(key), what: what)
    }

    func list(_ key: String, what: String, required isRequired: Bool = false) -> [(node: ConfigNode, path: String)]? {
        guard let node = isRequired ? required(key) : value(key) else { return nil }
        return reader.list(node, keyPath(key), what: what)
    }

    func stringList(_ key: String, what: String, required isRequired: Bool = false) -> [(String, ConfigNode, String)]? {
        guard let items = list(key, what: what, required: isRequired) else { return nil }
        return items.compactMap { item in reader.string(item.node, item.path).map { ($0, item.node, item.path) } }
    }

    /// Reports unknown and missing keys. Call once, after every accessor.
    func finish() {
        var unresolvedMissing = missing
        for entry in entries where !known.contains(entry.key) {
            if let why = explanations[entry.key] {
                diagnostics.error(
                    .unknownKey, keyPath(entry.key), "unknown key '\(entry.key)'", hint: why, node: entry.keyNode)
                continue
            }
            let suggestion = Suggestions.closest(to: entry.key, in: known)
            if let suggestion, let m = unresolvedMissing.firstIndex(where: { $0.key == suggestion }) {
                unresolvedMissing.remove(at: m)
            }
            diagnostics.error(
                .unknownKey, keyPath(entry.key), "unknown key '\(entry.key)'",
                hint: suggestion.map { "did you mean '\($0)'?" } ?? "valid keys here: \(known.joined(separator: ", "))",
                node: entry.keyNode)
        }
        for (key, hint) in unresolvedMissing {
            diagnostics.error(.missingKey, keyPath(key), "missing required key '\(key)'", hint: hint, node: node)
        }
    }
}
