import Foundation
import Logging
import Synchronization

/// One line per event in logfmt (`key=value`, values quoted when needed), the shape journald,
/// Loki and `grep` all read well:
///
/// ```
/// 2026-11-24T08:15:02.120Z level=info label=pspf msg="subscribed" source=sensors topics="[\"sensors/+/reading\"]"
/// ```
///
/// Under systemd (`JOURNAL_STREAM` set) the timestamp is left to journald and each line starts
/// with its syslog priority (`<6>`), so `journalctl -p warning` filters by level.
///
/// Values are written as given: nothing secret is ever put in log metadata (secrets live in
/// `Secret` and `MQTTCredentials`, whose textual forms are redacted).
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let journald: Bool
    private let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - journald: journald's line format (`nil`: detect from `JOURNAL_STREAM`).
    ///   - write: where lines go (standard error by default; tests capture them).
    public init(label: String, journald: Bool? = nil, write: (@Sendable (String) -> Void)? = nil) {
        self.label = label
        self.journald = journald ?? (ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil)
        self.write = write ?? LogfmtLogHandler.standardError
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = ""
        if journald {
            line += "<\(Self.priority(event.level))>"
        } else {
            line += Self.timestamp() + " "
        }
        line += "level=\(event.level.rawValue) label=\(Self.quoted(label)) msg=\(Self.quoted(event.message.description))"
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(Self.quoted(value.description))"
        }
        write(line)
    }

    /// syslog priorities (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A value as is when it is a plain token, else in double quotes with `"`, `\` and
    /// control characters escaped, so one event is always one line.
    static func quoted(_ value: String) -> String {
        let plain =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy { scalar in
                scalar.value > 0x20 && scalar != "\"" && scalar != "=" && scalar != "\\" && scalar.value != 0x7F
            }
        if plain { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var time = tm()
        var seconds = spec.tv_sec
        gmtime_r(&seconds, &time)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday,
            time.tm_hour, time.tm_min, time.tm_sec, spec.tv_nsec / 1_000_000)
    }

    private static let lock = Mutex(())

    /// Whole lines, never interleaved between threads.
    private static let standardError: @Sendable (String) -> Void = { line in
        let bytes = Array((line + "\n").utf8)
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }
}
