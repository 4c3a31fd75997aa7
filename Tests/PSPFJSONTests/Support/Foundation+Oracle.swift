import Foundation
import PSPFJSON

/// Foundation's `JSONSerialization` (with fragments allowed) as the reference parser.
enum FoundationOracle {
    static func parse(_ bytes: [UInt8]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    static func accepts(_ bytes: [UInt8]) -> Bool { parse(bytes) != nil }

    /// Inputs where Foundation is known to be more lenient than RFC 8259 (and PSPF), see docs/json.md:
    /// it skips a byte order mark, auto-detects UTF-16/UTF-32 (any NUL byte among the first four can
    /// trigger that), and allows a trailing comma before `]` or `}`. For such inputs the only valid
    /// disagreement is "PSPF rejects, Foundation accepts".
    static func mayBeLenient(_ bytes: [UInt8]) -> Bool {
        if bytes.contains(0) { return true }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) || bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            return true
        }
        // A comma followed by whitespace and a closing bracket, anywhere (also inside strings: we only
        // need an over-approximation).
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: ",") {
                var next = index + 1
                while next < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
                if next < bytes.count, bytes[next] == UInt8(ascii: "]") || bytes[next] == UInt8(ascii: "}") { return true }
            }
            index += 1
        }
        return false
    }

    /// Whether some object in the (possibly invalid) document seems to repeat a member name: a crude
    /// scan that compares names as written (escapes not decoded), good enough for fuzzing.
    static func hasDuplicateNames(_ bytes: [UInt8]) -> Bool {
        // Count `"name":` occurrences per nesting level; any repeat at the same level counts.
        var stack: [Set<[UInt8]>] = [[]]
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["): stack.append([])
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if stack.count > 1 { stack.removeLast() }
            case UInt8(ascii: "\""):
                var end = index + 1
                while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
                let name = Array(bytes[(index + 1)..<min(end, bytes.count)])
                var next = end + 1
                while next < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
                if next < bytes.count, bytes[next] == UInt8(ascii: ":") {
                    if !stack[stack.count - 1].insert(name).inserted { return true }
                }
                index = end
            default: break
            }
            index += 1
        }
        return false
    }

    static func isBool(_ value: Any) -> Bool {
        String(describing: type(of: value)) == "__NSCFBoolean"
    }
}

/// Compares a PSPF tree with Foundation's, returning a description of the first difference.
func difference(_ ours: JSONValue, _ theirs: Any, path: String = "$") -> String? {
    switch ours {
    case .null:
        return theirs is NSNull ? nil : "\(path): null vs \(theirs)"
    case .bool(let flag):
        guard FoundationOracle.isBool(theirs), let number = theirs as? NSNumber else { return "\(path): bool vs \(theirs)" }
        return number.boolValue == flag ? nil : "\(path): \(flag) vs \(number)"
    case .integer(let integer):
        guard !FoundationOracle.isBool(theirs), let number = theirs as? NSNumber else { return "\(path): integer vs \(theirs)" }
        return number.int64Value == integer ? nil : "\(path): \(integer) vs \(number)"
    case .number(let double):
        guard !FoundationOracle.isBool(theirs), let number = theirs as? NSNumber else { return "\(path): number vs \(theirs)" }
        if theirs is NSDecimalNumber { return nil }  // Foundation keeps big numbers as decimals
        return number.doubleValue.bitPattern == double.bitPattern
            || (number.doubleValue == 0 && double == 0) ? nil : "\(path): \(double) vs \(number)"
    case .string(let text):
        guard let other = theirs as? String else { return "\(path): string vs \(theirs)" }
        return Array(text.unicodeScalars) == Array(other.unicodeScalars) ? nil : "\(path): \(text.debugDescription) vs \(other.debugDescription)"
    case .array(let elements):
        guard let other = theirs as? [Any] else { return "\(path): array vs \(theirs)" }
        guard elements.count == other.count else { return "\(path): \(elements.count) vs \(other.count) elements" }
        for (index, element) in elements.enumerated() {
            if let found = difference(element, other[index], path: "\(path)[\(index)]") { return found }
        }
        return nil
    case .object(let members):
        guard let other = theirs as? [String: Any] else { return "\(path): object vs \(theirs)" }
        guard members.count == other.count else { return "\(path): \(members.count) vs \(other.count) members" }
        for (key, value) in members {
            guard let theirValue = other[key] else { return "\(path): missing \(key) in Foundation" }
            if let found = difference(value, theirValue, path: "\(path).\(key)") { return found }
        }
        return nil
    }
}
