import Testing

@testable import PSPFConfig

@Suite struct SecretTests {
    private let secretValue = "s3cr3t-Pa55word"
    private let tokenValue = "tok-0123456789abcdef"

    private var yaml: String {
        """
        version: 1
        brokers:
          site:
            host: broker.site.local
            client_id: gw
            username: pspf
            password_file: /run/credentials/pspf/mqtt
        sources:
          s: {broker: site, topics: [a/+]}
        sinks:
          cloud:
            type: http
            url: https://ingest.example.com/v1
            bearer_token_file: /run/credentials/pspf/token
          inline:
            type: http
            url: https://other.example.com
            bearer_token: ${TOKEN}
        pipelines:
          p:
            source: s
            key: {topic_segment: 1}
            timestamp: processing_time
            window: {type: count, size: 10}
            sinks: [cloud, inline]
        admin:
          address: 0.0.0.0:9464
          token_file: /run/credentials/pspf/admin
        """
    }

    private var files: [String: String] {
        [
            "/run/credentials/pspf/mqtt": secretValue + "\n",
            "/run/credentials/pspf/token": tokenValue + "\r\n",
            "/run/credentials/pspf/admin": "admin-token\n\n",
        ]
    }

    @Test func readsSecretFilesTrimmingOneTrailingNewline() throws {
        let c = try load(yaml, variables: ["TOKEN": "inline-token"], files: files)
        #expect(c.brokers[0].password?.reveal() == secretValue)
        #expect(c.brokers[0].password?.origin == .file("/run/credentials/pspf/mqtt"))
        guard case .http(let http) = c.sinks[0].kind, case .http(let other) = c.sinks[1].kind else {
            Issue.record("expected http sinks")
            return
        }
        #expect(http.bearerToken?.reveal() == tokenValue)
        #expect(other.bearerToken?.reveal() == "inline-token")
        #expect(other.bearerToken?.origin == .inline)
        #expect(c.admin.token?.reveal() == "admin-token\n")  // only one newline is trimmed
    }

    @Test func secretsNeverAppearInDescriptionsOrDumps() throws {
        let c = try load(yaml, variables: ["TOKEN": "inline-token"], files: files)
        var dumped = ""
        dump(c, to: &dumped)
        var dumpedBroker = ""
        dump(c.brokers[0], to: &dumpedBroker)
        let renderings = [
            String(describing: c), String(reflecting: c), "\(c.brokers[0])", String(reflecting: c.brokers[0]),
            String(describing: c.sinks), String(describing: c.admin), dumped, dumpedBroker,
            String(describing: c.brokers[0].password), "\(c.brokers[0].password!)",
            c.brokers[0].password!.debugDescription,
        ]
        for text in renderings {
            for secret in [secretValue, tokenValue, "inline-token", "admin-token"] {
                #expect(!text.contains(secret), "secret leaked in: \(text.prefix(200))…")
            }
        }
        #expect(dumped.contains("<redacted>"))
        #expect("\(c.brokers[0].password!)" == "<redacted>")
    }

    @Test func unreadableOrEmptySecretFilesAreErrors() {
        var files = self.files
        files["/run/credentials/pspf/mqtt"] = nil
        files["/run/credentials/pspf/admin"] = "\n"
        let errors = loadErrors(yaml, variables: ["TOKEN": "x"], files: files)
        #expect(errors.map(\.code) == [.secretFile, .secretFile])
        #expect(errors[0].path == "brokers.site.password_file")
        #expect(errors[0].message.contains("cannot read secret file '/run/credentials/pspf/mqtt'"), "\(errors[0])")
        #expect((errors[0].line, errors[0].column) == (7, 20))
        #expect(errors[1].path == "admin.token_file")
        #expect(errors[1].message.contains("is empty"))
    }

    @Test func inlineAndFileTogetherIsAConflict() {
        let errors = loadErrors(
            yaml.replacingOccurrences(of: "    username: pspf\n", with: "    username: pspf\n    password: hunter2\n"),
            variables: ["TOKEN": "x"], files: files)
        #expect(errors.map(\.code) == [.conflict])
        #expect(errors.first?.path == "brokers.site.password")
        #expect(errors.first.map { !$0.description.contains("hunter2") } == true)
    }

    @Test func relativeSecretPathsAreRelativeToTheConfigFile() throws {
        let environment = testEnvironment(files: [
            "/etc/pspf/config.yaml": yamlWithRelativeFile, "/etc/pspf/secrets/mqtt": "pw\n",
        ])
        let c = try ConfigLoader.load(file: "/etc/pspf/config.yaml", environment: environment)
        #expect(c.brokers[0].password?.reveal() == "pw")
        #expect(c.brokers[0].password?.origin == .file("/etc/pspf/secrets/mqtt"))
    }

    private var yamlWithRelativeFile: String {
        """
        version: 1
        brokers:
          b: {host: h, client_id: c, username: u, password_file: secrets/mqtt}
        sources:
          s: {broker: b, topics: [a]}
        sinks:
          c: {type: console}
        pipelines:
          p: {source: s, key: {topic_segment: 0}, timestamp: processing_time, window: {type: count, size: 1}, sinks: [c]}
        """
    }
}
