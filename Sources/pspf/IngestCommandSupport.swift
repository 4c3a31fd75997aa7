import ArgumentParser
import Dispatch
import Foundation
import Logging
import PSPFMQTT

#if canImport(Glibc)
import Glibc
#endif

/// Broker connection options shared by `pspf ingest`, `pspf publish` and `pspf simulate`.
/// The password is never printed or logged.
struct BrokerOptions: ParsableArguments {
    @Option(help: "The MQTT broker as HOST[:PORT] (port 1883 by default).")
    var broker: String

    @Option(help: "MQTT client id (required and stable for a persistent session).")
    var clientID: String?

    @Option(help: "MQTT username.")
    var username: String?

    @Option(help: "A file holding the MQTT password (first line). Without it the password is read from $PSPF_MQTT_PASSWORD.")
    var passwordFile: String?

    @Option(help: "A file with the username on line 1 and the password on line 2, re-read at every connect.")
    var credentialsFile: String?

    @Option(help: "MQTT protocol version: 5 or 3.1.1.")
    var mqttVersion: String = "5"

    @Option(help: "Keepalive in seconds (0 disables).")
    var keepalive: Int = 30

    @Option(help: "CA certificate (PEM) to connect with TLS.")
    var cafile: String?

    @Option(help: "Client certificate (PEM) for TLS.")
    var cert: String?

    @Option(help: "Client private key (PEM) for TLS.")
    var key: String?

    func configuration(defaultClientID: String? = nil, persistent: Bool) throws -> MQTTClientConfiguration {
        let parts = broker.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty else {
            throw ValidationError("--broker must be HOST or HOST:PORT, got '\(broker)'")
        }
        var port = 1883
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (1...65535).contains(parsed) else {
                throw ValidationError("--broker: '\(parts[1])' is not a port")
            }
            port = parsed
        }
        var configuration = MQTTClientConfiguration(host: String(parts[0]), port: port)
        configuration.clientID = clientID ?? defaultClientID
        configuration.cleanSession = !persistent
        configuration.keepalive = .seconds(keepalive)
        switch mqttVersion {
        case "5": configuration.protocolVersion = .v5
        case "3.1.1", "311", "4": configuration.protocolVersion = .v311
        default: throw ValidationError("--mqtt-version must be 5 or 3.1.1")
        }
        if let credentialsFile {
            configuration.credentials = .file(credentialsFile)
        } else if let username {
            let password: String
            if let passwordFile {
                guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                    throw ValidationError("cannot read --password-file \(passwordFile)")
                }
                password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            } else if let value = ProcessInfo.processInfo.environment["PSPF_MQTT_PASSWORD"] {
                password = value
            } else {
                throw ValidationError("--username needs --password-file or $PSPF_MQTT_PASSWORD")
            }
            configuration.credentials = .literal(username: username, password: password)
        }
        if cafile != nil || cert != nil {
            var tls = MQTTTLSConfiguration(caFile: cafile, certificateFile: cert, keyFile: key)
            tls.useSystemTrustStore = cafile == nil
            configuration.tls = tls
        }
        return configuration
    }
}

/// A logger to stderr at `level`.
func stderrLogger(_ label: String, level: Logger.Level) -> Logger {
    var logger = Logger(label: label) { label in StreamLogHandler.standardError(label: label) }
    logger.logLevel = level
    return logger
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Runs `body` in a task that SIGTERM or SIGINT cancels (a graceful stop), and waits for it.
func runUntilSignalled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    var sources: [any DispatchSourceSignal] = []
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        sources.append(source)
    }
    defer { sources.forEach { $0.cancel() } }
    return try await task.value
}

/// Writes one line to stdout with one unbuffered `write` (progress lines are read through a pipe).
func emitLine(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(UInt8(ascii: "\n"))
    var written = 0
    while written < bytes.count {
        let result = bytes[written...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        if result <= 0 { return }
        written += result
    }
}

/// The machine's host name, for default client ids.
func hostName() -> String {
    ProcessInfo.processInfo.hostName
}
