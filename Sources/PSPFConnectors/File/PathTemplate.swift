import PSPFJSON

/// A relative file path with placeholders, such as `{pipeline}/{key}/{date}.jsonl`, filled from
/// each result. Substituted values are sanitised so that no value can leave the sink's
/// directory or create hidden files: only `A–Z a–z 0–9 . _ -` are kept (anything else becomes
/// `_`), a value of `.` or `..` or one starting with `.` is defused, and values are cut to 100
/// characters. A device id like `../../etc/x` becomes `.._.._etc_x` → `_._.._etc_x`.
///
/// Placeholders: `{pipeline}`, `{key}`, `{id}`, `{date}` (UTC `yyyy-MM-dd` of the window start),
/// `{hour}` (UTC `HH`), and any top-level field of the result (`{avg_temp}`).
public struct PathTemplate: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case literal(String)
        case field(String)
    }

    public let description: String
    let parts: [Part]

    public init(_ template: String) throws {
        guard !template.isEmpty else { throw PathTemplateError("the path template is empty") }
        guard !template.hasPrefix("/") else {
            throw PathTemplateError("the path template '\(template)' must be relative to the sink's directory")
        }
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw PathTemplateError("unclosed '{' in path template '\(template)'")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw PathTemplateError("invalid placeholder '{\(name)}' in path template '\(template)'")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(.field(name))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        for case .literal(let text) in parts {
            for component in text.split(separator: "/", omittingEmptySubsequences: false) where component == ".." {
                throw PathTemplateError("the path template '\(template)' must not contain '..'")
            }
        }
        self.description = template
        self.parts = parts
    }

    /// The relative path for `result`; missing fields become `_`.
    public func render(_ result: JSONValue) -> String {
        var path = ""
        for part in parts {
            switch part {
            case .literal(let text): path += text
            case .field(let name): path += Self.sanitise(Self.value(of: name, in: result))
            }
        }
        return path
    }

    static func value(of name: String, in result: JSONValue) -> String {
        switch name {
        case "date", "hour":
            guard let start = result["window_start"]?.int64Value,
                let text = RFC3339.format(milliseconds: start)
            else { return "" }
            let characters = Array(text)
            return name == "date" ? String(characters[0..<10]) : String(characters[11..<13])
        default:
            guard let value = result[name] else { return "" }
            if let text = value.stringValue { return text }
            if let integer = value.int64Value { return String(integer) }
            if let number = value.doubleValue { return String(number) }
            if let bool = value.boolValue { return String(bool) }
            return ""
        }
    }

    /// Keeps `A–Z a–z 0–9 . _ -`, replaces everything else with `_`, defuses leading dots, and
    /// bounds the length.
    public static func sanitise(_ value: String) -> String {
        var output = ""
        for scalar in value.unicodeScalars.prefix(100) {
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": output.unicodeScalars.append(scalar)
            default: output += "_"
            }
        }
        if output.isEmpty { return "_" }
        if output.hasPrefix(".") { output = "_" + output.dropFirst() }
        return output
    }
}

public struct PathTemplateError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
