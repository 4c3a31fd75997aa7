/// Decides when the network loop polls the socket for input, which is how ``MQTTClient/readingPaused``
/// works without losing the connection.
///
/// Pausing stops `mosquitto_loop_read`, so TCP flow control (and, for QoS 1/2, the broker's
/// in-flight limit) holds messages back at the broker. But libmosquitto's keepalive needs the
/// PINGRESP to be *read*: it sends PINGREQ after `keepalive` seconds without traffic and closes
/// the connection (`MOSQ_ERR_KEEPALIVE`) when no packet was read for another `keepalive`
/// seconds. A paused client that never reads dies after about two keepalive intervals.
///
/// So while paused, the loop still performs one bounded *keepalive read phase* every
/// `keepalive / 2`: it drains what the socket holds (at most the socket buffers; for QoS 1/2
/// at most the broker's in-flight window, since no PUBACK was written meanwhile), which
/// includes the PINGRESP. Messages read in such a phase are delivered to the handler like any
/// other. With keepalive off (`.zero`) nothing forces a read and the pause is total.
struct ReadScheduler {
    typealias Instant = ContinuousClock.Instant

    let keepalive: Duration
    private(set) var lastReadPhase: Instant

    init(keepalive: Duration, now: Instant) {
        self.keepalive = keepalive
        self.lastReadPhase = now
    }

    /// How long a paused client may go without a read phase.
    var pausedReadInterval: Duration? { keepalive == .zero ? nil : keepalive / 2 }

    /// Whether the socket should be polled for input (and read when readable).
    func wantsInput(paused: Bool, connecting: Bool, now: Instant) -> Bool {
        if !paused || connecting { return true }
        guard let interval = pausedReadInterval else { return false }
        return now >= lastReadPhase + interval
    }

    /// When a paused loop must wake up to start polling for input again (for the poll timeout).
    func nextForcedRead(paused: Bool) -> Instant? {
        guard paused, let interval = pausedReadInterval else { return nil }
        return lastReadPhase + interval
    }

    /// Records a read phase that ended because the socket had nothing more to read. (A phase cut
    /// short by ``MQTTClientConfiguration/maxMessagesPerReadPhase`` is not recorded, so a paused
    /// keepalive read continues until it has drained the socket and with it the PINGRESP.)
    mutating func readPhaseDrained(now: Instant) { lastReadPhase = now }
}
