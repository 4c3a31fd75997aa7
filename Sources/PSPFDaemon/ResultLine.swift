import Foundation
import PSPFJSON

/// The console sink's human-readable line for one result:
///
/// ```
/// temp-stats  dev-0003  [08:15:00–08:15:10)  count=12 avg_temp=21.53 min_temp=20.9 max_temp=22.4
/// ```
///
/// Times are UTC; numbers keep at most 3 decimals. `nil` for text that is not a result object.
enum ResultLine {
    static func format(_ json: String) -> String? {
        guard case .object(let members)? = try? JSONValue(parsing: json) else { return nil }
        var pipeline = "", key = "", start: Int64?, end: Int64?
        var columns: [String] = []
        for (name, value) in members {
            switch name {
            case "id", "window_seq": continue
            case "pipeline": pipeline = value.stringValue ?? "\(value)"
            case "key": key = value.stringValue ?? "\(value)"
            case "window_start": start = value.int64Value
            case "window_end": end = value.int64Value
            default: columns.append("\(name)=\(text(value))")
            }
        }
        let window = "[\(clock(start))–\(clock(end)))"
        return [pipeline, key, window, columns.joined(separator: " ")].joined(separator: "  ")
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .number(let number):
            let rounded = (number * 1000).rounded() / 1000
            return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : String(rounded)
        case .string(let string): return string
        default: return "\(value)"
        }
    }

    private static func clock(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "?" }
        let seconds = milliseconds / 1000
        let day = ((seconds % 86_400) + 86_400) % 86_400
        return String(format: "%02d:%02d:%02d", day / 3600, day / 60 % 60, day % 60)
    }
}
