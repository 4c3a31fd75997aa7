import CMosquitto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the MQTT client: a libmosquitto status code (or one of PSPF's own codes), the
/// broker's reason code when it sent one, a human-readable message and where it was raised.
///
/// Match on the code directly in `catch` clauses:
///
/// ```swift
/// do {
///     try await client.connect()
/// } catch MQTTError.Code.connectionRefused {
///     // bad credentials, client id rejected, ...
/// } catch MQTTError.Code.tls {
///     // certificate verification failed, ...
/// }
/// ```
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    /// The libmosquitto status code (`enum mosq_err_t`), or a PSPF code (1000 and above) for
    /// conditions libmosquitto has no code for.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ code: mosq_err_t) { self.rawValue = code.rawValue }

        // libmosquitto codes
        public static let noMemory = Code(MOSQ_ERR_NOMEM)
        public static let protocolError = Code(MOSQ_ERR_PROTOCOL)
        public static let invalidArgument = Code(MOSQ_ERR_INVAL)
        public static let noConnection = Code(MOSQ_ERR_NO_CONN)
        /// The broker refused the connection; ``MQTTError/reasonCode`` holds the CONNACK code.
        public static let connectionRefused = Code(MOSQ_ERR_CONN_REFUSED)
        public static let notFound = Code(MOSQ_ERR_NOT_FOUND)
        public static let connectionLost = Code(MOSQ_ERR_CONN_LOST)
        /// A TLS error: the message carries OpenSSL's reason (e.g. "certificate verify failed").
        public static let tls = Code(MOSQ_ERR_TLS)
        public static let payloadSize = Code(MOSQ_ERR_PAYLOAD_SIZE)
        public static let notSupported = Code(MOSQ_ERR_NOT_SUPPORTED)
        public static let authentication = Code(MOSQ_ERR_AUTH)
        public static let aclDenied = Code(MOSQ_ERR_ACL_DENIED)
        public static let unknown = Code(MOSQ_ERR_UNKNOWN)
        /// A system call failed; the message carries `strerror(errno)`.
        public static let system = Code(MOSQ_ERR_ERRNO)
        /// Host name lookup failed.
        public static let lookup = Code(MOSQ_ERR_EAI)
        public static let malformedUTF8 = Code(MOSQ_ERR_MALFORMED_UTF8)
        /// No packet from the broker within the keepalive interval.
        public static let keepalive = Code(MOSQ_ERR_KEEPALIVE)
        public static let malformedPacket = Code(MOSQ_ERR_MALFORMED_PACKET)
        public static let qosNotSupported = Code(MOSQ_ERR_QOS_NOT_SUPPORTED)
        public static let oversizePacket = Code(MOSQ_ERR_OVERSIZE_PACKET)
        /// A connection attempt did not complete within ``MQTTReconnectPolicy/connectTimeout``.
        public static let timeout = Code(MOSQ_ERR_TIMEOUT)

        // PSPF codes
        /// The bounded in-flight publish window is full (callback-style publish only).
        public static let inflightWindowFull = Code(rawValue: 1001)
        /// The client was closed before the operation completed; whether the broker received a
        /// publish that was in flight is unknown.
        public static let closed = Code(rawValue: 1002)
        /// The broker rejected a publish with an MQTT 5 reason code ≥ 0x80 (see ``MQTTError/reasonCode``).
        public static let publishRejected = Code(rawValue: 1003)
        /// The broker rejected a subscription (SUBACK 0x80 or an MQTT 5 reason code ≥ 0x80).
        public static let subscriptionRejected = Code(rawValue: 1004)
        /// The username or password could not be read from their source (environment or file).
        public static let credentialsUnavailable = Code(rawValue: 1005)
        /// The client configuration is invalid.
        public static let invalidConfiguration = Code(rawValue: 1006)
        /// The ``MQTTMessageHandler`` threw from ``MQTTMessageHandler/readPhaseEnded()``; the
        /// connection was dropped before any acknowledgement of the batch was sent.
        public static let messageHandlerFailed = Code(rawValue: 1007)

        public var description: String {
            switch self {
            case .noMemory: "noMemory"
            case .protocolError: "protocolError"
            case .invalidArgument: "invalidArgument"
            case .noConnection: "noConnection"
            case .connectionRefused: "connectionRefused"
            case .notFound: "notFound"
            case .connectionLost: "connectionLost"
            case .tls: "tls"
            case .payloadSize: "payloadSize"
            case .notSupported: "notSupported"
            case .authentication: "authentication"
            case .aclDenied: "aclDenied"
            case .unknown: "unknown"
            case .system: "system"
            case .lookup: "lookup"
            case .malformedUTF8: "malformedUTF8"
            case .keepalive: "keepalive"
            case .malformedPacket: "malformedPacket"
            case .qosNotSupported: "qosNotSupported"
            case .oversizePacket: "oversizePacket"
            case .timeout: "timeout"
            case .inflightWindowFull: "inflightWindowFull"
            case .closed: "closed"
            case .publishRejected: "publishRejected"
            case .subscriptionRejected: "subscriptionRejected"
            case .credentialsUnavailable: "credentialsUnavailable"
            case .invalidConfiguration: "invalidConfiguration"
            case .messageHandlerFailed: "messageHandlerFailed"
            default: "code \(rawValue)"
            }
        }

        /// Lets `catch MQTTError.Code.tls { ... }` match an ``MQTTError`` with that code.
        public static func ~= (pattern: Code, error: any Error) -> Bool {
            (error as? MQTTError)?.code == pattern
        }
    }

    /// What went wrong.
    public var code: Code
    /// The broker's reason: the CONNACK return code (MQTT 3.1.1) or the MQTT 5 reason code of
    /// a CONNACK, PUBACK/PUBREC or SUBACK, when the broker sent one.
    public var reasonCode: Int?
    /// A human-readable explanation, from `mosquitto_strerror`, `mosquitto_connack_string`,
    /// `mosquitto_reason_string`, OpenSSL or `strerror`, plus context.
    public var message: String
    /// The underlying error, if another error caused this one.
    public var cause: (any Error & Sendable)?
    /// Where the error was raised (in PSPF).
    public var file: String
    public var line: Int

    public init(
        code: Code, reasonCode: Int? = nil, message: String, cause: (any Error & Sendable)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.reasonCode = reasonCode
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "MQTTError.\(code) (\(code.rawValue))"
        if let reasonCode { text += ", reason \(reasonCode)" }
        text += ": \(message)"
        if let cause { text += " (caused by: \(cause))" }
        return text
    }
}

extension MQTTError {
    /// An error for a libmosquitto return code, with `mosquitto_strerror`'s text. For
    /// `MOSQ_ERR_ERRNO` pass the `errno` captured right after the failing call.
    static func mosquitto(
        _ rc: Int32, errno savedErrno: Int32 = 0, context: String? = nil,
        file: String = #fileID, line: Int = #line
    ) -> MQTTError {
        var text: String
        if rc == MOSQ_ERR_ERRNO.rawValue, savedErrno != 0 {
            text = String(cString: strerror(savedErrno))
        } else {
            text = String(cString: mosquitto_strerror(rc))
            // libmosquitto 2.0.11 has no text for several newer codes.
            if text == "Unknown error.", let fallback = fallbackTexts[rc] { text = fallback }
        }
        if let context { text = "\(context): \(text)" }
        return MQTTError(code: Code(rawValue: rc), message: text, file: file, line: line)
    }

    private static let fallbackTexts: [Int32: String] = [
        MOSQ_ERR_KEEPALIVE.rawValue: "No packet from the broker within the keepalive interval.",
        MOSQ_ERR_LOOKUP.rawValue: "Host name lookup failed.",
        MOSQ_ERR_MALFORMED_PACKET.rawValue: "Malformed packet.",
        MOSQ_ERR_TIMEOUT.rawValue: "Timed out.",
        MOSQ_ERR_PLUGIN_DEFER.rawValue: "Deferred.",
        MOSQ_ERR_RETAIN_NOT_SUPPORTED.rawValue: "Retain not supported.",
        MOSQ_ERR_TOPIC_ALIAS_INVALID.rawValue: "Invalid topic alias.",
        MOSQ_ERR_ADMINISTRATIVE_ACTION.rawValue: "Administrative action.",
        MOSQ_ERR_ALREADY_EXISTS.rawValue: "Already exists.",
    ]

    /// An error for a refused CONNACK.
    static func connackRefused(
        reason: Int32, protocolVersion: MQTTProtocolVersion, context: String,
        file: String = #fileID, line: Int = #line
    ) -> MQTTError {
        let text =
            switch protocolVersion {
            case .v311: String(cString: mosquitto_connack_string(reason))
            case .v5: String(cString: mosquitto_reason_string(reason))
            }
        return MQTTError(
            code: .connectionRefused, reasonCode: Int(reason),
            message: "\(context): the broker refused the connection: \(text)", file: file, line: line)
    }
}
