import Testing

@testable import PSPFMQTT

/// The loop's input decision while reading is paused, and a model of libmosquitto 2.0.11's
/// keepalive (lib/util_mosq.c, mosquitto__check_keepalive) showing that a paused client stays
/// connected over many keepalive intervals, where never reading would drop it. Simulated
/// time: no sleeping, no wall clock.
@Suite("Paused reading and keepalive")
struct ReadSchedulerTests {
    let t0 = ContinuousClock.now

    @Test("Not paused: always poll for input")
    func notPaused() {
        let scheduler = ReadScheduler(keepalive: .seconds(10), now: t0)
        #expect(scheduler.wantsInput(paused: false, connecting: false, now: t0))
        #expect(scheduler.nextForcedRead(paused: false) == nil)
    }

    @Test("Paused: poll for input only every keepalive / 2, and always while connecting")
    func paused() {
        var scheduler = ReadScheduler(keepalive: .seconds(10), now: t0)
        #expect(!scheduler.wantsInput(paused: true, connecting: false, now: t0))
        #expect(!scheduler.wantsInput(paused: true, connecting: false, now: t0 + .milliseconds(4999)))
        #expect(scheduler.wantsInput(paused: true, connecting: false, now: t0 + .seconds(5)))
        #expect(scheduler.nextForcedRead(paused: true) == t0 + .seconds(5))
        #expect(scheduler.wantsInput(paused: true, connecting: true, now: t0))
        scheduler.readPhaseDrained(now: t0 + .seconds(6))
        #expect(!scheduler.wantsInput(paused: true, connecting: false, now: t0 + .seconds(10)))
        #expect(scheduler.wantsInput(paused: true, connecting: false, now: t0 + .seconds(11)))
    }

    @Test("Keepalive off: a pause holds completely")
    func keepaliveOff() {
        let scheduler = ReadScheduler(keepalive: .zero, now: t0)
        #expect(!scheduler.wantsInput(paused: true, connecting: false, now: t0 + .seconds(100_000)))
        #expect(scheduler.nextForcedRead(paused: true) == nil)
    }

    /// libmosquitto's client keepalive, in whole seconds like `mosquitto_time()`.
    struct KeepaliveModel {
        let keepalive: Int
        var lastMessageIn = 0
        var nextMessageOut: Int
        var pingOutstanding = false
        var disconnected = false
        init(keepalive: Int) {
            self.keepalive = keepalive
            nextMessageOut = keepalive
        }
        /// A packet was read.
        mutating func read(now: Int, pingResponse: Bool) {
            lastMessageIn = now
            if pingResponse { pingOutstanding = false }
        }
        /// A packet was written.
        mutating func wrote(now: Int) { nextMessageOut = now + keepalive }
        /// mosquitto_loop_misc; returns true when it sent a PINGREQ.
        mutating func misc(now: Int) -> Bool {
            guard now >= nextMessageOut || now - lastMessageIn >= keepalive else { return false }
            if !pingOutstanding {
                pingOutstanding = true
                lastMessageIn = now
                nextMessageOut = now + keepalive
                return true
            }
            disconnected = true
            return false
        }
    }

    /// Runs a paused client for `intervals` keepalive intervals against a broker that answers
    /// PINGREQ after 50 ms and (when `streaming`) always has another message waiting. Returns
    /// whether libmosquitto's keepalive would have dropped the connection, and how many read
    /// phases happened.
    func simulate(keepalive seconds: Int, intervals: Int, streaming: Bool, forceReads: Bool) -> (dropped: Bool, reads: Int) {
        var scheduler = ReadScheduler(keepalive: forceReads ? .seconds(seconds) : .zero, now: t0)
        var client = KeepaliveModel(keepalive: seconds)
        var pingResponseAt: Duration?
        var reads = 0
        let step = Duration.milliseconds(10)
        var elapsed = Duration.zero
        while elapsed < .seconds(seconds * intervals), !client.disconnected {
            let now = t0 + elapsed
            let wholeSeconds = Int(elapsed.components.seconds)
            let pingResponseReady = pingResponseAt.map { elapsed >= $0 } ?? false
            let readable = streaming || pingResponseReady
            if readable, scheduler.wantsInput(paused: true, connecting: false, now: now) {
                client.read(now: wholeSeconds, pingResponse: pingResponseReady)
                if pingResponseReady { pingResponseAt = nil }
                scheduler.readPhaseDrained(now: now)
                reads += 1
                if streaming { client.wrote(now: wholeSeconds) }   // the batch's PUBACKs
            }
            if client.misc(now: wholeSeconds) { pingResponseAt = elapsed + .milliseconds(50) }
            elapsed += step
        }
        return (client.disconnected, reads)
    }

    @Test("Paused for 10 keepalive intervals: the forced reads keep the connection", arguments: [false, true])
    func pausedSurvives(streaming: Bool) {
        for keepalive in [5, 30, 60] {
            let result = simulate(keepalive: keepalive, intervals: 10, streaming: streaming, forceReads: true)
            #expect(!result.dropped, "keepalive \(keepalive) s, streaming \(streaming)")
            // The pause still holds: about two read phases per keepalive interval, not continuous reading.
            #expect(result.reads <= 2 * 10 + 2)
        }
    }

    @Test("Without forced reads the same pause loses the connection after about two intervals")
    func neverReadingDrops() {
        let result = simulate(keepalive: 5, intervals: 10, streaming: false, forceReads: false)
        #expect(result.dropped)
        #expect(result.reads == 0)
    }
}
