#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the MQTT username and password come from. They are read at every connection attempt
/// (so a rotated password file takes effect on the next reconnect) and never logged: every
/// textual form of this type (`description`, `debugDescription`, `dump`) redacts them.
///
/// ```swift
/// configuration.credentials = .environment(username: "PSPF_MQTT_USERNAME", password: "PSPF_MQTT_PASSWORD")
/// configuration.credentials = .file("/etc/pspf/mqtt-credentials")   // line 1 username, line 2 password
/// ```
public struct MQTTCredentials: Sendable, Hashable {
    enum Source: Sendable, Hashable {
        case environment(usernameVariable: String, passwordVariable: String)
        case file(path: String)
        case literal(username: String, password: String)
    }

    let source: Source

    /// Reads the username and the password from two environment variables.
    public static func environment(username usernameVariable: String, password passwordVariable: String) -> MQTTCredentials {
        MQTTCredentials(source: .environment(usernameVariable: usernameVariable, passwordVariable: passwordVariable))
    }

    /// Reads a file whose first line is the username and whose second line is the password
    /// (a trailing newline and a `\r` before it are ignored). Keep it mode 0600; systemd's
    /// `LoadCredential=` fits.
    public static func file(_ path: String) -> MQTTCredentials {
        MQTTCredentials(source: .file(path: path))
    }

    /// Fixed values, for tests and code that obtained them elsewhere.
    public static func literal(username: String, password: String) -> MQTTCredentials {
        MQTTCredentials(source: .literal(username: username, password: password))
    }

    /// Reads the secret values. Internal: the values never leave the module except into libmosquitto.
    func resolve() throws(MQTTError) -> (username: String, password: String) {
        switch source {
        case .literal(let username, let password):
            return (username, password)
        case .environment(let usernameVariable, let passwordVariable):
            guard let username = getenv(usernameVariable).map({ String(cString: $0) }) else {
                throw MQTTError(
                    code: .credentialsUnavailable,
                    message: "environment variable \(usernameVariable) (MQTT username) is not set")
            }
            guard let password = getenv(passwordVariable).map({ String(cString: $0) }) else {
                throw MQTTError(
                    code: .credentialsUnavailable,
                    message: "environment variable \(passwordVariable) (MQTT password) is not set")
            }
            return (username, password)
        case .file(let path):
            // Split on bytes: in Swift "\r\n" is one Character and would not split on "\n".
            var lines = try Self.readSmallFile(path).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                .map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
            while lines.last?.isEmpty == true { lines.removeLast() }
            guard lines.count >= 2, !lines[0].isEmpty, !lines[1].isEmpty else {
                throw MQTTError(
                    code: .credentialsUnavailable,
                    message: "credentials file \(path) must hold the username on line 1 and the password on line 2")
            }
            return (String(decoding: lines[0], as: UTF8.self), String(decoding: lines[1], as: UTF8.self))
        }
    }

    private static func readSmallFile(_ path: String) throws(MQTTError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw MQTTError(code: .credentialsUnavailable, message: "cannot open credentials file \(path): \(reason)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw MQTTError(code: .credentialsUnavailable, message: "cannot read credentials file \(path): \(reason)")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
}

extension MQTTCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Names the source, never the values.
    public var description: String {
        switch source {
        case .environment(let usernameVariable, let passwordVariable):
            "MQTTCredentials(environment: username $\(usernameVariable), password $\(passwordVariable))"
        case .file(let path):
            "MQTTCredentials(file: \(path))"
        case .literal:
            "MQTTCredentials(literal: <redacted>)"
        }
    }

    public var debugDescription: String { description }

    /// `dump()` and other reflection see only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: ["source": description], displayStyle: .struct) }
}
