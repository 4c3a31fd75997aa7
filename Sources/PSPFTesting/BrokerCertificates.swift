import Foundation

/// A throw-away PKI for TLS tests, generated with `openssl` in a temporary directory: a CA, a
/// server certificate for `127.0.0.1`/`localhost` and a client certificate, both signed by it
/// (EC P-256, valid two days).
///
/// ```swift
/// let pki = try await BrokerCertificates.generate()
/// let wrongCA = try await BrokerCertificates.generate()    // an unrelated CA for negative tests
/// let broker = try await BrokerFixture.start(.init(tls: .init(pki, requireClientCertificate: true)))
/// ```
public struct BrokerCertificates: Sendable {
    public let directory: String
    public var caFile: String { directory + "/ca.crt" }
    public var caKeyFile: String { directory + "/ca.key" }
    public var serverCertificateFile: String { directory + "/server.crt" }
    public var serverKeyFile: String { directory + "/server.key" }
    public var clientCertificateFile: String { directory + "/client.crt" }
    public var clientKeyFile: String { directory + "/client.key" }

    public static let openssl = "/usr/bin/openssl"

    /// Generates a CA and a server and client certificate signed by it.
    public static func generate(name: String = "PSPF Test") async throws -> BrokerCertificates {
        guard FileManager.default.isExecutableFile(atPath: openssl) else {
            throw BrokerFixtureError("openssl not found: run make test, which installs it via apt")
        }
        let certificates = BrokerCertificates(directory: try makeTemporaryDirectory(prefix: "pspf-pki-"))
        let dir = certificates.directory
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await runTool(
            openssl,
            ["req", "-x509"] + curve + [
                "-keyout", certificates.caKeyFile, "-out", certificates.caFile, "-days", "2",
                "-subj", "/CN=\(name) CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        for (role, commonName, usage, serial) in [
            ("server", "localhost", "serverAuth", "1001"), ("client", "pspf-test-client", "clientAuth", "1002"),
        ] {
            var extensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=\(usage)\n"
            if role == "server" { extensions += "subjectAltName=IP:127.0.0.1,DNS:localhost\n" }
            try extensions.write(toFile: "\(dir)/\(role).ext", atomically: true, encoding: .utf8)
            try await runTool(
                openssl,
                ["req", "-new"] + curve + [
                    "-keyout", "\(dir)/\(role).key", "-out", "\(dir)/\(role).csr", "-subj", "/CN=\(commonName)",
                ])
            try await runTool(
                openssl,
                [
                    "x509", "-req", "-in", "\(dir)/\(role).csr", "-CA", certificates.caFile, "-CAkey",
                    certificates.caKeyFile, "-set_serial", serial, "-days", "2", "-out", "\(dir)/\(role).crt",
                    "-extfile", "\(dir)/\(role).ext",
                ])
        }
        return certificates
    }

    /// Removes the directory.
    public func cleanUp() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
