import Foundation
import Testing

@testable import PSPFAdmin

@Suite struct DaemonStatusTests {
    @Test func roundTripsThroughJSON() throws {
        let status = DaemonStatus(
            version: "test", startedAtMilliseconds: 1, takenAtMilliseconds: 2,
            sinks: [SinkStatus(name: "http", pipeline: "p", type: "http", delivered: 3, failingSinceMilliseconds: 4)])
        let decoded = try JSONDecoder().decode(DaemonStatus.self, from: JSONEncoder().encode(status))
        #expect(decoded == status)
    }
}
