import CMosquitto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `mosquitto_lib_init` runs once per process (a Swift global is initialised exactly once,
/// thread-safely). `mosquitto_lib_cleanup` is never called: the library lives as long as the process.
private let mosquittoLibraryStatus: Int32 = mosquitto_lib_init()

/// The one owner of a `struct mosquitto *`: created configured, destroyed in `deinit`.
///
/// After `init`, libmosquitto functions on this handle are called only from the client's
/// network thread (see ``NetworkLoop``); `deinit` runs after that thread has finished.
final class MosquittoHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(configuration: MQTTClientConfiguration) throws(MQTTError) {
        guard mosquittoLibraryStatus == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError.mosquitto(mosquittoLibraryStatus, context: "mosquitto_lib_init")
        }
        guard let pointer = mosquitto_new(configuration.clientID, configuration.cleanSession, nil) else {
            let saved = errno
            throw MQTTError(
                code: saved == ENOMEM ? .noMemory : .invalidArgument,
                message: "mosquitto_new failed: \(String(cString: strerror(saved)))")
        }
        self.pointer = pointer
        do {
            try configure(configuration)
        } catch {
            mosquitto_destroy(pointer)
            throw error
        }
    }

    deinit {
        mosquitto_destroy(pointer)
    }

    private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError.mosquitto(rc, errno: errno, context: what) }
    }

    private func configure(_ configuration: MQTTClientConfiguration) throws(MQTTError) {
        // Essential for the ack timing: in threaded mode libmosquitto only *queues* outgoing
        // packets (PUBACK, PUBREC, PUBCOMP, PUBLISH, ...); they are written by
        // mosquitto_loop_write, which only the network loop calls, after readPhaseEnded().
        // Without it, packet__queue writes immediately when not inside a callback, and
        // handle__publish queues the QoS 1 PUBACK *before* it invokes on_message.
        try check(mosquitto_threaded_set(pointer, true), "mosquitto_threaded_set")
        let version = configuration.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(pointer, MOSQ_OPT_PROTOCOL_VERSION, version), "protocol version")
        try check(
            mosquitto_int_option(pointer, MOSQ_OPT_SEND_MAXIMUM, Int32(min(configuration.maxInflightPublishes + 16, 65535))),
            "send maximum")
        if let receiveMaximum = configuration.receiveMaximum {
            try check(mosquitto_int_option(pointer, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(receiveMaximum)), "receive maximum")
        }
        try check(mosquitto_int_option(pointer, MOSQ_OPT_TCP_NODELAY, configuration.tcpNoDelay ? 1 : 0), "TCP_NODELAY")
        if let tls = configuration.tls {
            if tls.caFile != nil || tls.caPath != nil {
                let rc = mosquitto_tls_set(pointer, tls.caFile, tls.caPath, tls.certificateFile, tls.keyFile, nil)
                guard rc == MOSQ_ERR_SUCCESS.rawValue else {
                    throw MQTTError(
                        code: Code(rawValue: rc),
                        message: "mosquitto_tls_set: cannot read the CA, certificate or key file (\(tls)): \(String(cString: mosquitto_strerror(rc)))")
                }
            }
            if tls.useSystemTrustStore {
                try check(mosquitto_int_option(pointer, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "TLS system trust store")
            }
            try check(
                mosquitto_tls_opts_set(pointer, tls.verifyPeer ? 1 : 0, tls.minimumVersion.rawValue, tls.ciphers),
                "mosquitto_tls_opts_set")
            try check(mosquitto_tls_insecure_set(pointer, !tls.verifyHostname), "mosquitto_tls_insecure_set")
        }
        if let status = configuration.status {
            let rc = status.offlinePayload.withUnsafeBytes { payload in
                mosquitto_will_set_v5(
                    pointer, status.topic, Int32(payload.count), payload.baseAddress, status.qos.rawValue, true, nil)
            }
            try check(rc, "Last Will on \(status.topic)")
        }
    }

    private typealias Code = MQTTError.Code
}

/// `SSL_pending` for the connection's TLS session, looked up once at run time (libssl is
/// already loaded as libmosquitto's dependency; the package does not link it directly).
/// Needed because libmosquitto's read loop can return while OpenSSL still holds decrypted
/// records that poll(2) cannot see.
private let sslPendingFunction: (@convention(c) (OpaquePointer?) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "SSL_pending") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (OpaquePointer?) -> Int32).self)
}()

func mosquittoSSLPending(_ mosq: OpaquePointer) -> Int32 {
    guard let ssl = mosquitto_ssl_get(mosq), let sslPendingFunction else { return 0 }
    return sslPendingFunction(OpaquePointer(ssl))
}
