import Testing

@testable import PSPFAdmin

@Suite struct StatusReportTests {
    @Test func rendersRatesFromTwoStatuses() {
        var previous = Fixture.status(at: 99)
        previous.sources[0].messagesReceived = 1080
        let report = StatusReport.render(previous: previous, current: Fixture.status())
        #expect(
            report == """
                pspf 1.2.3  up 1m 40s  ready
                process  RSS 48.0 MiB  CPU 12.50 s  open files 31

                SOURCE   BROKER  CONNECTED  MSG/S  RECEIVED  DUPLICATES  DEAD LETTERS  REJECTED
                sensors  local   yes        120.0      1200           7             3         1

                PIPELINE    RECORDS  RESULTS  LAG  LATE  DEAD LETTERS  LAST CHECKPOINT
                temp-stats     1150       40   40     5             9  0.5 s ago, took 3.5 ms, 1 failed

                SINK     TYPE     PIPELINE    DELIVERED  BACKLOG  RETRIES  FAILURES  DROPPED  STATE
                console  console  temp-stats         40        0        0         0        0  ok
                cloud    http     temp-stats         30        8        6         1        0  failing for 20 s: HTTP 503

                """)
    }

    @Test func withoutAPreviousStatusThereAreNoRates() {
        var status = Fixture.status(at: 7_384)
        status.sources[0].connected = false
        status.pipelines[0].checkpoint = CheckpointStatus()
        status.sinks[1].failingSinceMilliseconds = status.takenAtMilliseconds - 75_000
        let report = StatusReport.render(previous: nil, current: status)
        #expect(
            report == """
                pspf 1.2.3  up 2h 03m 04s  NOT READY
                  - source sensors: broker local is disconnected
                  - pipeline temp-stats: no checkpoint 7384 s after start (grace 30 s)
                  - sink cloud: failing for 75 s (limit 60 s): HTTP 503
                process  RSS 48.0 MiB  CPU 12.50 s  open files 31

                SOURCE   BROKER  CONNECTED  MSG/S  RECEIVED  DUPLICATES  DEAD LETTERS  REJECTED
                sensors  local   NO             -      1200           7             3         1

                PIPELINE    RECORDS  RESULTS  LAG  LATE  DEAD LETTERS  LAST CHECKPOINT
                temp-stats     1150       40   40     5             9  none yet

                SINK     TYPE     PIPELINE    DELIVERED  BACKLOG  RETRIES  FAILURES  DROPPED  STATE
                console  console  temp-stats         40        0        0         0        0  ok
                cloud    http     temp-stats         30        8        6         1        0  failing for 75 s: HTTP 503

                """)
    }

    @Test(arguments: [
        (Int64(0), "0s"), (12_999, "12s"), (245_000, "4m 05s"), (3_723_000, "1h 02m 03s"), (183_840_000, "2d 03h 04m"),
    ])
    func uptime(milliseconds: Int64, text: String) {
        #expect(StatusReport.uptime(milliseconds) == text)
    }

    @Test(arguments: [
        (Int64(512), "512 B"), (1536, "1.5 KiB"), (50_331_648, "48.0 MiB"), (3 << 30, "3.0 GiB"),
    ])
    func bytes(count: Int64, text: String) {
        #expect(StatusReport.bytes(count) == text)
    }

    @Test func decimals() {
        #expect(StatusReport.decimal(12.345, places: 2) == "12.35")
        #expect(StatusReport.decimal(0.04, places: 1) == "0.0")
        #expect(StatusReport.decimal(-1.25, places: 1) == "-1.3")
        #expect(StatusReport.decimal(7, places: 0) == "7")
    }
}
