import Testing

@testable import PSPFConfig

/// De-duplication defaults of a source, and the HTTP sink's `tls` block.
@Suite struct DefaultsAndHTTPTLSTests {
    private func source(_ extra: String) throws -> SourceConfig {
        let yaml = config(
            pipeline: "source: sensors\nkey: device\ntimestamp: {field: ts}\nwindow: {type: tumbling, size: 10s}\nsinks: [console]"
        ).replacingOccurrences(
            of: "topics: [sensors/+/reading], key: device}", with: "topics: [sensors/+/reading], key: device\(extra)}")
        return try load(yaml).sources[0]
    }

    @Test func qos1SourcesWithAnEventTimeDeduplicateByItByDefault() throws {
        let deduplicated = try source(", event_time: {field: ts}")
        #expect(deduplicated.dedup.by == .eventTime)
        #expect(deduplicated.dedup.horizon == .seconds(60))
        #expect(deduplicated.dedup.maxEntries == 100_000)
        #expect(try source("").dedup.by == .none)  // no event time to compare
        #expect(try source(", qos: 0, event_time: {field: ts}").dedup.by == .none)  // nothing is redelivered
        #expect(try source(", event_time: {field: ts}, dedup: {by: none}").dedup.by == .none)  // said so
    }

    private func httpSink(_ tls: String, files: [String: String] = [:]) throws(ConfigErrors) -> HTTPSinkConfig? {
        let yaml = config(
            pipeline: "source: sensors\nkey: device\ntimestamp: {field: ts}\nwindow: {type: tumbling, size: 10s}\nsinks: [api]"
        ).replacingOccurrences(
            of: "console: {type: console}", with: "api: {type: http, url: \"https://api.example.com/v1\", tls: \(tls)}")
        guard case .http(let http) = try load(yaml, files: files).sinks[0].kind else { return nil }
        return http
    }

    @Test func httpSinksTakeCertificates() throws {
        let files = ["/etc/pspf/ca.pem": "CA", "/etc/pspf/gw.crt": "CERT", "/etc/pspf/gw.key": "KEY"]
        let mutual = try httpSink(
            "{ca_file: /etc/pspf/ca.pem, cert_file: /etc/pspf/gw.crt, key_file: /etc/pspf/gw.key}", files: files)
        #expect(mutual?.tls?.caFile == "/etc/pspf/ca.pem")
        #expect(mutual?.tls?.certFile == "/etc/pspf/gw.crt")
        #expect(mutual?.tls?.keyFile == "/etc/pspf/gw.key")
        #expect(mutual?.tls?.verifyPeer == true)
        #expect(mutual?.tls?.systemCA == false)
        let system = try httpSink("{verify: false}")
        #expect(system?.tls?.systemCA == true)
        #expect(system?.tls?.verifyPeer == false)
    }

    @Test func aClientCertificateWithoutItsKeyIsAnError() {
        do {
            _ = try httpSink("{cert_file: /etc/pspf/gw.crt}", files: ["/etc/pspf/gw.crt": "CERT"])
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.map(\.code) == [.conflict])
            #expect(error.errors.first?.path == "sinks.api.tls.cert_file")
            #expect(error.errors.first?.line ?? 0 > 0)
        }
    }
}
