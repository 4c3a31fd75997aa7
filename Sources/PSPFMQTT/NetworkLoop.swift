import CMosquitto
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The network thread. It owns every libmosquitto call after configuration: connect and
/// reconnect, publish, subscribe, and the loop itself. libmosquitto's callbacks are free
/// functions (below) that find this object through the userdata pointer; they run
/// synchronously inside `mosquitto_loop_read/write/misc`, i.e. on this thread, so the state
/// here needs no lock. Other threads reach it only through ``ClientCore``'s shared state.
///
/// One round of the loop:
/// 1. poll(2) on the wake eventfd and the socket (POLLIN unless reading is paused, POLLOUT when
///    libmosquitto wants to write), with a timeout from the next deadline (retry, connect
///    timeout, forced keepalive read, 1 s housekeeping);
/// 2. take work from other threads (publishes, (un)subscribes, stop) and hand it to libmosquitto;
/// 3. **read phase**: `mosquitto_loop_read` until the socket would block (or the batch cap),
///    delivering messages to the handler, then `readPhaseEnded()`;
/// 4. **write phase**: `mosquitto_loop_write` when `mosquitto_want_write` (PUBACKs, PUBLISHes, ...);
/// 5. `mosquitto_loop_misc` (keepalive PINGREQ, keepalive timeout).
final class NetworkLoop {
    typealias Instant = ContinuousClock.Instant

    enum PendingAck {
        case publish(qos: MQTTQoS, completion: Completion<Void>?, countsAgainstWindow: Bool)
        case subscribe(filter: String)
        case unsubscribe(filter: String)
    }

    struct OpenRequest {
        var request: FilterRequest
        var results: [String: Int32] = [:]
        var isSubscribe: Bool { if case .subscribe = request.kind { true } else { false } }
    }

    /// What the callbacks learned about the current connection attempt.
    struct AttemptInfo {
        var connackReason: Int32?
        var sessionPresent = false
        var errorLogs: [String] = []
    }

    let core: ClientCore
    let mosq: OpaquePointer
    let configuration: MQTTClientConfiguration
    let logger: Logger
    let verbose: Bool
    private let clock = ContinuousClock()
    private var machine: ConnectionStateMachine
    private var scheduler: ReadScheduler

    private var registry: [MQTTSubscription] = []
    private var pendingUnsubscribes: [String] = []
    private var openRequests: [OpenRequest] = []
    private var acks: [UInt16: PendingAck] = [:]

    private var attempt = AttemptInfo()
    /// Whether libmosquitto's socket belongs to the live attempt/connection (false once abandoned).
    private var socketLive = false
    private var messagesThisPhase = 0
    private var closing = false
    private var closeDeadline: Instant?
    private var finished = false
    private var initialFailure: MQTTError?
    private var logCallbackInstalled = false

    init(core: ClientCore) {
        self.core = core
        self.mosq = core.handle.pointer
        self.configuration = core.configuration
        self.logger = core.logger
        self.verbose = core.logger.logLevel <= .debug
        let now = ContinuousClock.now
        var seed: UInt64 = 0
        arc4random_buf(&seed, MemoryLayout<UInt64>.size)
        self.machine = ConnectionStateMachine(policy: core.configuration.reconnect, seed: seed)
        self.scheduler = ReadScheduler(keepalive: core.configuration.keepalive, now: now)
    }

    private var endpoint: String { "\(configuration.host):\(configuration.port)" }

    // MARK: run

    func run() {
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_v5_callback_set(mosq, onConnectCallback)
        mosquitto_disconnect_v5_callback_set(mosq, onDisconnectCallback)
        mosquitto_publish_v5_callback_set(mosq, onPublishCallback)
        mosquitto_message_v5_callback_set(mosq, onMessageCallback)
        mosquitto_subscribe_v5_callback_set(mosq, onSubscribeCallback)
        mosquitto_unsubscribe_v5_callback_set(mosq, onUnsubscribeCallback)

        act(machine.start(now: clock.now), error: nil)
        while !finished {
            iterate()
        }

        // Close what is left (an abandoned attempt, a close that timed out): shutdown makes
        // the broker see the drop (and send the Will); libmosquitto closes the fd on destroy.
        if mosquitto_socket(mosq) >= 0 { shutdown(mosquitto_socket(mosq), Int32(SHUT_RDWR)) }
        failPendingAcks(MQTTError(code: .closed, message: "the client was closed before the broker acknowledged"))
        for open in openRequests {
            open.request.completion.complete(.failure(MQTTError(code: .closed, message: "the client was closed")))
        }
        openRequests = []
        mosquitto_log_callback_set(mosq, nil)
        mosquitto_user_data_set(mosq, nil)
        core.loopFinished(initialFailure: initialFailure)
    }

    private func iterate() {
        var now = clock.now
        if !closing {
            act(machine.tick(now: now), error: nil)
            if finished { return }
        } else if let closeDeadline, now >= closeDeadline {
            logger.debug("graceful disconnect did not complete in time; closing")
            finished = true
            return
        }

        // 1. poll
        let sock = socketLive ? mosquitto_socket(mosq) : -1
        let paused = core.readingPaused.load(ordering: .acquiring)
        let connecting = machine.isConnecting
        let wantsInput = sock >= 0 && scheduler.wantsInput(paused: paused, connecting: connecting || closing, now: now)
        var socketEvents: Int16 = 0
        if wantsInput { socketEvents |= Int16(POLLIN) }
        if sock >= 0, mosquitto_want_write(mosq) { socketEvents |= Int16(POLLOUT) }
        var fds = [
            pollfd(fd: core.wake.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: sock, events: socketEvents, revents: 0),
        ]
        var deadline = now + .seconds(1)
        if let next = machine.nextDeadline, next < deadline { deadline = next }
        if sock >= 0, !wantsInput, let forced = scheduler.nextForcedRead(paused: paused), forced < deadline {
            deadline = forced
        }
        if let closeDeadline, closeDeadline < deadline { deadline = closeDeadline }
        let timeout = Self.milliseconds(until: deadline, from: now)
        let ready = poll(&fds, nfds_t(fds.count), timeout)
        if ready < 0, errno != EINTR {
            logger.error("poll failed: \(String(cString: strerror(errno)))")
        }
        now = clock.now

        // 2. work from other threads
        if fds[0].revents != 0 { core.wake.drain() }
        takeWork()
        if finished { return }

        // 3-5. socket IO
        guard sock >= 0, socketLive, mosquitto_socket(mosq) == sock else { return }
        let revents = fds[1].revents
        let hangup = revents & Int16(POLLERR | POLLHUP) != 0
        var batchFull = false
        if hangup || (wantsInput && revents & Int16(POLLIN) != 0) || (connecting && revents & Int16(POLLOUT) != 0) {
            batchFull = readPhase(socket: sock) == .batchFull
            guard socketLive, mosquitto_socket(mosq) >= 0 else { return }
        }
        writePhase()
        guard socketLive, mosquitto_socket(mosq) >= 0 else { return }
        miscPhase()
        guard socketLive, mosquitto_socket(mosq) >= 0 else { return }
        if hangup, !batchFull {
            // The socket reported an error or hang-up and a read phase did not surface it, yet
            // libmosquitto still considers it open (possible during a TLS handshake, where
            // SSL_ERROR_SYSCALL is treated as "try again"): treat it as broken instead of spinning.
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(sock, SOL_SOCKET, SO_ERROR, &soError, &length)
            connectionBroken(rc: soError != 0 ? MOSQ_ERR_ERRNO.rawValue : MOSQ_ERR_CONN_LOST.rawValue, errno: soError)
        }
    }

    // MARK: phases

    enum ReadPhaseEnd { case drained, batchFull, callLimit, broken }

    /// Reads until the socket would block or the batch cap is reached.
    private func readPhase(socket sock: Int32) -> ReadPhaseEnd {
        messagesThisPhase = 0
        var end = ReadPhaseEnd.callLimit
        var broken: (rc: Int32, errno: Int32)?
        let maxCalls = configuration.maxMessagesPerReadPhase + 64
        for _ in 0..<maxCalls {
            errno = 0
            let rc = mosquitto_loop_read(mosq, 1)
            let savedErrno = errno
            if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(mosq) < 0 {
                broken = (rc, savedErrno)
                end = .broken
                break
            }
            if messagesThisPhase >= configuration.maxMessagesPerReadPhase {
                end = .batchFull
                break
            }
            // libmosquitto reports "would block" through errno; a failed write to its internal
            // wake-up socketpair (full, since nobody reads it in this loop) also leaves EAGAIN,
            // so confirm with the socket and OpenSSL's buffer.
            if savedErrno == EAGAIN || savedErrno == EWOULDBLOCK, !inputPending(sock) {
                end = .drained
                break
            }
        }
        if end == .drained { scheduler.readPhaseDrained(now: clock.now) }

        var handlerError: (any Error & Sendable)?
        if messagesThisPhase > 0, let handler = core.handler {
            do {
                try handler.readPhaseEnded()
            } catch {
                handlerError = error
            }
        }
        if attempt.connackReason == 0, machine.isConnecting {
            act(machine.attemptSucceeded(now: clock.now), error: nil)
        }
        if let broken {
            connectionBroken(rc: broken.rc, errno: broken.errno)
        } else if let handlerError, closing {
            logger.error("message handler failed while closing; closing without acknowledging the batch: \(handlerError)")
            dropSocket()
            finished = true
        } else if let handlerError {
            logger.error("message handler failed; dropping the connection so the batch is redelivered: \(handlerError)")
            let error = MQTTError(
                code: .messageHandlerFailed,
                message: "readPhaseEnded() threw; the connection was dropped before the batch was acknowledged",
                cause: handlerError)
            connectionLost(error)
        }
        return end
    }

    private func inputPending(_ sock: Int32) -> Bool {
        if mosquittoSSLPending(mosq) > 0 { return true }
        var fd = pollfd(fd: sock, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) > 0 && fd.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0
    }

    private func writePhase() {
        guard mosquitto_want_write(mosq) else { return }
        // libmosquitto writes each queued packet with its own write(2): a read phase's PUBACKs
        // (or a batch of publishes) would leave as one TCP segment each, and the broker would
        // read them one by one. Corked, they leave in full segments when the phase ends.
        let sock = mosquitto_socket(mosq)
        Self.setCork(sock, true)
        errno = 0
        let rc = mosquitto_loop_write(mosq, 1)
        let savedErrno = errno
        // Only while libmosquitto still owns that socket: after a failure it may be closed and
        // its number reused by another connection.
        if sock >= 0, mosquitto_socket(mosq) == sock { Self.setCork(sock, false) }
        if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(mosq) < 0 {
            if closing, rc == MOSQ_ERR_SUCCESS.rawValue {
                finished = true   // DISCONNECT written; libmosquitto closed the socket
            } else {
                connectionBroken(rc: rc, errno: savedErrno)
            }
        }
    }

    /// TCP_CORK on (hold partial segments) or off (send what is held now). A no-op error on
    /// sockets that are not TCP.
    private static func setCork(_ sock: Int32, _ on: Bool) {
        guard sock >= 0 else { return }
        var value: Int32 = on ? 1 : 0
        _ = setsockopt(sock, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    private func miscPhase() {
        errno = 0
        let rc = mosquitto_loop_misc(mosq)
        let savedErrno = errno
        if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(mosq) < 0 {
            connectionBroken(rc: rc, errno: savedErrno)
        }
    }

    // MARK: state machine actions

    private func act(_ action: ConnectionStateMachine.Action, error: MQTTError?) {
        switch action {
        case .none:
            break
        case .connect(let initial):
            startAttempt(initial: initial)
        case .announceConnected:
            announceConnected()
        case .abandonAttempt:
            let error = MQTTError(
                code: .timeout,
                message: "connecting to \(endpoint) did not complete within \(configuration.reconnect.connectTimeout)")
            act(machine.attemptFailed(now: clock.now), error: error)
        case .scheduleRetry(let delay, let attemptNumber):
            let error = error ?? MQTTError(code: .connectionLost, message: "connection to \(endpoint) lost")
            connectionEnded(error)
            logger.warning(
                "MQTT connection to \(endpoint) unavailable: \(error.message); retrying in \(delay) (attempt \(attemptNumber))")
            core.eventSink.yield(.connectionLost(error))
            core.eventSink.yield(.reconnectScheduled(attempt: attemptNumber, delay: delay))
        case .failInitialConnect:
            let error = error ?? MQTTError(code: .unknown, message: "connecting to \(endpoint) failed")
            connectionEnded(error)
            initialFailure = error
            finished = true
        case .close(let graceful):
            if graceful {
                beginGracefulClose()
            } else {
                connectionEnded(MQTTError(code: .closed, message: "the client was closed"))
                finished = true
            }
        }
    }

    private func startAttempt(initial: Bool) {
        attempt = AttemptInfo()
        setLogCallback(enabled: true)
        scheduler = ReadScheduler(keepalive: configuration.keepalive, now: clock.now)
        if let credentials = configuration.credentials {
            do throws(MQTTError) {
                let (username, password) = try credentials.resolve()
                let rc = mosquitto_username_pw_set(mosq, username, password)
                guard rc == MOSQ_ERR_SUCCESS.rawValue else {
                    throw MQTTError.mosquitto(rc, context: "setting the username and password")
                }
            } catch {
                act(machine.attemptFailed(now: clock.now), error: error)
                return
            }
        }
        var rc: Int32
        errno = 0
        if initial {
            // The first attempt uses the blocking connect (TCP only; TLS and CONNACK continue in
            // the loop) because libmosquitto 2.0.11 has no asynchronous connect that takes MQTT 5
            // CONNECT properties; the properties it stores are reused by every reconnect.
            var properties: OpaquePointer?
            if let expiry = configuration.sessionExpirySeconds {
                mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), expiry)
            }
            rc = mosquitto_connect_bind_v5(
                mosq, configuration.host, Int32(configuration.port), configuration.keepaliveSeconds,
                configuration.bindAddress, properties)
            mosquitto_property_free_all(&properties)
        } else {
            rc = mosquitto_reconnect_async(mosq)
        }
        let savedErrno = errno
        socketLive = mosquitto_socket(mosq) >= 0
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            act(machine.attemptFailed(now: clock.now), error: attemptError(rc: rc, errno: savedErrno))
            return
        }
        logger.debug("connecting to \(endpoint)")
    }

    private func announceConnected() {
        core.connectionChanged(connected: true)
        if !verbose { setLogCallback(enabled: false) }
        logger.debug("MQTT connected to \(endpoint) (session present: \(attempt.sessionPresent))")
        for filter in pendingUnsubscribes { sendUnsubscribe(filter) }
        for subscription in registry { sendSubscribe(subscription, restoring: true) }
        if let status = configuration.status {
            submit(
                OutgoingPublish(
                    topic: status.topic, payload: status.onlinePayload, qos: status.qos, retain: true,
                    completion: nil, countsAgainstWindow: false))
        }
        core.eventSink.yield(.connected(sessionPresent: attempt.sessionPresent))
    }

    private func beginGracefulClose() {
        closing = true
        closeDeadline = clock.now + .seconds(3)
        if let status = configuration.status {
            // The broker publishes the Will only on an unclean drop, so say "offline" ourselves.
            submit(
                OutgoingPublish(
                    topic: status.topic, payload: status.offlinePayload, qos: status.qos, retain: true,
                    completion: nil, countsAgainstWindow: false))
        }
        // Queued after everything else (PUBACKs, the offline status), so written last.
        let rc = mosquitto_disconnect_v5(mosq, 0, nil)
        if rc != MOSQ_ERR_SUCCESS.rawValue { finished = true }
    }

    /// The socket failed (libmosquitto closed it) or a phase reported an error.
    private func connectionBroken(rc: Int32, errno savedErrno: Int32) {
        if closing {
            finished = true
            return
        }
        let error = attemptError(rc: rc, errno: savedErrno)
        if machine.isConnecting {
            act(machine.attemptFailed(now: clock.now), error: error)
        } else {
            connectionLost(error)
        }
    }

    private func connectionLost(_ error: MQTTError) {
        if machine.isConnected {
            act(machine.connectionLost(now: clock.now), error: error)
        } else if machine.isConnecting {
            act(machine.attemptFailed(now: clock.now), error: error)
        }
    }

    /// Common cleanup when a connection or attempt ends.
    private func connectionEnded(_ error: MQTTError) {
        dropSocket()
        if core.isConnected { core.connectionChanged(connected: false) }
        setLogCallback(enabled: true)
        // QoS 0 packets still queued are discarded by the next (re)connect; SUBSCRIBE and
        // UNSUBSCRIBE are sent again after it. QoS 1/2 publishes stay: libmosquitto keeps them
        // and resends them (same packet id, DUP) after the next CONNACK.
        for (mid, pending) in acks {
            switch pending {
            case .publish(.atMostOnce, let completion, let counts):
                acks[mid] = nil
                if counts { core.releaseSlot() }
                completion?.complete(.failure(error))
            case .publish:
                break
            case .subscribe, .unsubscribe:
                acks[mid] = nil
            }
        }
    }

    /// Stops using the current socket without writing anything more on it (queued
    /// acknowledgements are discarded by the next `mosquitto_reconnect_async`).
    private func dropSocket() {
        if socketLive, mosquitto_socket(mosq) >= 0 {
            shutdown(mosquitto_socket(mosq), Int32(SHUT_RDWR))
        }
        socketLive = false
    }

    private func attemptError(rc: Int32, errno savedErrno: Int32) -> MQTTError {
        let context = machine.isConnected ? "connection to \(endpoint)" : "connecting to \(endpoint)"
        if let reason = attempt.connackReason, reason != 0 {
            return .connackRefused(reason: reason, protocolVersion: configuration.protocolVersion, context: context)
        }
        var error = MQTTError.mosquitto(rc, errno: savedErrno, context: context)
        if !attempt.errorLogs.isEmpty {
            error.message += " (\(attempt.errorLogs.joined(separator: "; ")))"
        }
        return error
    }

    private func failPendingAcks(_ error: MQTTError) {
        for (_, pending) in acks {
            if case .publish(_, let completion, let counts) = pending {
                if counts { core.releaseSlot() }
                completion?.complete(.failure(error))
            }
        }
        acks = [:]
    }

    // MARK: work from other threads

    private func takeWork() {
        let work = core.takeWork()
        if work.stop, !closing, !finished {
            for publish in work.publishes {
                if publish.countsAgainstWindow { core.releaseSlot() }
                publish.completion?.complete(.failure(MQTTError(code: .closed, message: "the client is closing")))
            }
            for request in work.requests {
                request.completion.complete(.failure(MQTTError(code: .closed, message: "the client is closing")))
            }
            act(machine.stop(), error: nil)
            return
        }
        for request in work.requests { apply(request) }
        for publish in work.publishes { submit(publish) }
    }

    private func submit(_ publish: OutgoingPublish) {
        func fail(_ error: MQTTError) {
            if publish.countsAgainstWindow { core.releaseSlot() }
            publish.completion?.complete(.failure(error))
        }
        if publish.qos == .atMostOnce, !machine.isConnected {
            fail(MQTTError(code: .noConnection, message: "QoS 0 publish to '\(publish.topic)' while not connected"))
            return
        }
        var properties: OpaquePointer?
        defer { mosquitto_property_free_all(&properties) }
        if let publishProperties = publish.properties {
            guard configuration.protocolVersion == .v5 else {
                fail(MQTTError(code: .notSupported, message: "publish properties need MQTT 5"))
                return
            }
            properties = Self.makeProperties(publishProperties)
        }
        var mid: Int32 = 0
        errno = 0
        let rc = publish.payload.withUnsafeBytes { payload in
            mosquitto_publish_v5(
                mosq, &mid, publish.topic, Int32(payload.count), payload.baseAddress, publish.qos.rawValue,
                publish.retain, properties)
        }
        let savedErrno = errno
        // With QoS 1/2, MOSQ_ERR_NO_CONN means "queued": libmosquitto keeps the message and
        // sends it after the next CONNACK.
        if rc == MOSQ_ERR_SUCCESS.rawValue || (rc == MOSQ_ERR_NO_CONN.rawValue && publish.qos != .atMostOnce) {
            acks[UInt16(truncatingIfNeeded: mid)] = .publish(
                qos: publish.qos, completion: publish.completion, countsAgainstWindow: publish.countsAgainstWindow)
        } else {
            fail(.mosquitto(rc, errno: savedErrno, context: "publish to '\(publish.topic)'"))
        }
    }

    private static func makeProperties(_ p: MQTTPublishProperties) -> OpaquePointer? {
        var list: OpaquePointer?
        if let value = p.contentType { mosquitto_property_add_string(&list, Int32(MQTT_PROP_CONTENT_TYPE.rawValue), value) }
        if let value = p.responseTopic { mosquitto_property_add_string(&list, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), value) }
        if let value = p.correlationData {
            value.withUnsafeBytes {
                _ = mosquitto_property_add_binary(
                    &list, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), $0.baseAddress, UInt16(clamping: $0.count))
            }
        }
        if let value = p.messageExpiryInterval {
            mosquitto_property_add_int32(&list, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), value)
        }
        if let value = p.payloadFormatIndicator {
            mosquitto_property_add_byte(&list, Int32(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR.rawValue), value)
        }
        for user in p.userProperties {
            mosquitto_property_add_string_pair(&list, Int32(MQTT_PROP_USER_PROPERTY.rawValue), user.name, user.value)
        }
        return list
    }

    private func apply(_ request: FilterRequest) {
        switch request.kind {
        case .subscribe(let subscriptions):
            for subscription in subscriptions {
                if let index = registry.firstIndex(where: { $0.topicFilter == subscription.topicFilter }) {
                    registry[index] = subscription
                } else {
                    registry.append(subscription)
                }
                pendingUnsubscribes.removeAll { $0 == subscription.topicFilter }
            }
            openRequests.append(OpenRequest(request: request))
            if machine.isConnected {
                for subscription in subscriptions { sendSubscribe(subscription, restoring: false) }
            }
        case .unsubscribe(let filters):
            registry.removeAll { filters.contains($0.topicFilter) }
            for filter in filters where !pendingUnsubscribes.contains(filter) { pendingUnsubscribes.append(filter) }
            openRequests.append(OpenRequest(request: request))
            if machine.isConnected {
                for filter in filters { sendUnsubscribe(filter) }
            }
        }
    }

    private func sendSubscribe(_ subscription: MQTTSubscription, restoring: Bool) {
        var options: Int32 = 0
        if configuration.protocolVersion == .v5 {
            var effective = subscription
            // On restore, retained messages are sent only if the broker lost the subscription.
            if restoring, effective.retainHandling == .sendOnSubscribe { effective.retainHandling = .sendOnNewSubscription }
            options = effective.optionsBits
        }
        var mid: Int32 = 0
        let rc = mosquitto_subscribe_v5(mosq, &mid, subscription.topicFilter, subscription.qos.rawValue, options, nil)
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            acks[UInt16(truncatingIfNeeded: mid)] = .subscribe(filter: subscription.topicFilter)
        } else {
            logger.warning("SUBSCRIBE \(subscription.topicFilter) failed: \(String(cString: mosquitto_strerror(rc)))")
        }
    }

    private func sendUnsubscribe(_ filter: String) {
        var mid: Int32 = 0
        let rc = mosquitto_unsubscribe_v5(mosq, &mid, filter, nil)
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            acks[UInt16(truncatingIfNeeded: mid)] = .unsubscribe(filter: filter)
        } else {
            logger.warning("UNSUBSCRIBE \(filter) failed: \(String(cString: mosquitto_strerror(rc)))")
        }
    }

    /// Records the broker's answer for `filter` in every open request of that kind.
    private func resolve(filter: String, code: Int32, subscribe: Bool) {
        var remaining: [OpenRequest] = []
        for var open in openRequests {
            if open.isSubscribe == subscribe, open.results[filter] == nil, open.request.filters.contains(filter) {
                open.results[filter] = code
            }
            let filters = open.request.filters
            if filters.allSatisfy({ open.results[$0] != nil }) {
                let codes = filters.map { open.results[$0]! }
                if let rejected = filters.indices.first(where: { codes[$0] >= 0x80 }) {
                    open.request.completion.complete(
                        .failure(
                            MQTTError(
                                code: .subscriptionRejected, reasonCode: Int(codes[rejected]),
                                message: "the broker rejected the subscription to '\(filters[rejected])': \(String(cString: mosquitto_reason_string(codes[rejected])))"
                            )))
                } else {
                    open.request.completion.complete(.success(codes))
                }
            } else {
                remaining.append(open)
            }
        }
        openRequests = remaining
    }

    // MARK: callbacks (network thread, inside mosquitto_loop_*)

    fileprivate func connackReceived(reason: Int32, flags: Int32) {
        attempt.connackReason = reason
        attempt.sessionPresent = flags & 1 != 0
    }

    fileprivate func disconnected(rc: Int32) {
        logger.debug("libmosquitto reports disconnect: \(String(cString: mosquitto_strerror(rc)))")
    }

    fileprivate func acknowledged(mid: Int32, reasonCode: Int32) {
        guard case .publish(_, let completion, let counts)? = acks.removeValue(forKey: UInt16(truncatingIfNeeded: mid))
        else { return }
        if counts { core.releaseSlot() }
        if reasonCode >= 0x80 {
            completion?.complete(
                .failure(
                    MQTTError(
                        code: .publishRejected, reasonCode: Int(reasonCode),
                        message: "the broker rejected the publish: \(String(cString: mosquitto_reason_string(reasonCode)))")))
        } else {
            completion?.complete(.success(()))
        }
    }

    fileprivate func received(_ message: UnsafePointer<mosquitto_message>, properties: OpaquePointer?) {
        messagesThisPhase += 1
        core.handler?.received(MQTTMessageView(message, properties: properties))
    }

    fileprivate func subscribed(mid: Int32, granted: UnsafeBufferPointer<Int32>) {
        guard case .subscribe(let filter)? = acks.removeValue(forKey: UInt16(truncatingIfNeeded: mid)) else { return }
        let code = granted.first ?? 0x80
        if code >= 0x80 {
            registry.removeAll { $0.topicFilter == filter }
            logger.warning("the broker rejected the subscription to \(filter) (reason \(code))")
            core.eventSink.yield(.subscriptionRejected(topicFilter: filter, reasonCode: Int(code)))
        }
        resolve(filter: filter, code: code, subscribe: true)
    }

    fileprivate func unsubscribed(mid: Int32) {
        guard case .unsubscribe(let filter)? = acks.removeValue(forKey: UInt16(truncatingIfNeeded: mid)) else { return }
        pendingUnsubscribes.removeAll { $0 == filter }
        resolve(filter: filter, code: 0, subscribe: false)
    }

    fileprivate func log(level: Int32, message: String) {
        if level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0 {
            if attempt.errorLogs.count < 8 { attempt.errorLogs.append(message) }
        }
        if level & MOSQ_LOG_DEBUG != 0 {
            logger.trace("libmosquitto: \(message)")
        } else {
            logger.debug("libmosquitto: \(message)")
        }
    }

    /// libmosquitto formats a log line for every packet when a log callback is set, so the
    /// callback is installed only while connecting (to capture OpenSSL's reasons) or when the
    /// logger is at debug level.
    private func setLogCallback(enabled: Bool) {
        guard enabled != logCallbackInstalled else { return }
        mosquitto_log_callback_set(mosq, enabled ? onLogCallback : nil)
        logCallbackInstalled = enabled
    }

    private static func milliseconds(until deadline: Instant, from now: Instant) -> Int32 {
        guard deadline > now else { return 0 }
        let parts = (deadline - now).components
        let ms = parts.seconds * 1000 + (parts.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

// MARK: - C callbacks
//
// Free functions, not closures: a closure literal in a main-actor context (e.g. main.swift)
// would be inferred main-actor isolated and trap when libmosquitto's thread calls it. They find
// the loop through the userdata pointer (unretained; the loop outlives every loop call and
// clears the pointer when it ends).

private func networkLoop(_ userdata: UnsafeMutableRawPointer?) -> NetworkLoop? {
    guard let userdata else { return nil }
    return Unmanaged<NetworkLoop>.fromOpaque(userdata).takeUnretainedValue()
}

private func onConnectCallback(
    _ mosq: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ reason: Int32, _ flags: Int32,
    _ properties: OpaquePointer?
) {
    networkLoop(userdata)?.connackReceived(reason: reason, flags: flags)
}

private func onDisconnectCallback(
    _ mosq: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ rc: Int32, _ properties: OpaquePointer?
) {
    networkLoop(userdata)?.disconnected(rc: rc)
}

private func onPublishCallback(
    _ mosq: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ mid: Int32, _ reason: Int32,
    _ properties: OpaquePointer?
) {
    networkLoop(userdata)?.acknowledged(mid: mid, reasonCode: reason)
}

private func onMessageCallback(
    _ mosq: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ message: UnsafePointer<mosquitto_message>?,
    _ properties: OpaquePointer?
) {
    guard let message else { return }
    networkLoop(userdata)?.received(message, properties: properties)
}

private func onSubscribeCallback(
    _ mosq: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ mid: Int32, _ count: Int32,
    _ granted: UnsafePointer<Int32>?, _ properties: OpaquePointer?
) {
    networkLoop(userdata)?.subscribed(mid: mid, granted: UnsafeBufferPointer(start: granted, count: Int(max(0, count))))
}

private func onUnsubscribeCallback(
    _ mosq: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ mid: Int32, _ properties: OpaquePointer?
) {
    networkLoop(userdata)?.unsubscribed(mid: mid)
}

private func onLogCallback(
    _ mosq: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ level: Int32, _ message: UnsafePointer<CChar>?
) {
    guard let message else { return }
    networkLoop(userdata)?.log(level: level, message: String(cString: message))
}
