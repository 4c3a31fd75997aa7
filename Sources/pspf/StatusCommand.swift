import ArgumentParser
import Foundation
import PSPFAdmin

/// `pspf status`: a one-screen summary of a running daemon, read from its admin endpoint.
/// Fetches `/status` twice one second apart to show message rates (`--once` fetches once).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running daemon's sources, pipelines, sinks and process figures.",
        discussion: """
            Reads GET /status from the daemon's admin endpoint. When the daemon requires a token, \
            pass it with --token-file or the PSPF_ADMIN_TOKEN environment variable (never on the \
            command line, where other users could read it).
            """)

    @Option(help: "The admin endpoint.") var url = "http://127.0.0.1:9464"
    @Option(help: "A file holding the admin bearer token (default: $PSPF_ADMIN_TOKEN).") var tokenFile: String?
    @Flag(help: "Print the status as JSON (fetched once).") var json = false
    @Flag(help: "Fetch once: no rates.") var once = false

    func run() async throws {
        let client = AdminClient(baseURL: url, token: try token())
        do {
            if json {
                let body = try await client.get("/status")
                FileHandle.standardOutput.write(Data(body))
                return
            }
            var previous: DaemonStatus?
            if !once {
                previous = try await client.status()
                try await Task.sleep(for: .seconds(1))
            }
            let current = try await client.status()
            print(StatusReport.render(previous: previous, current: current), terminator: "")
        } catch let failure as AdminClient.Failure {
            FileHandle.standardError.write(Data("pspf status: \(failure)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The token from --token-file, else $PSPF_ADMIN_TOKEN, else none; surrounding whitespace
    /// (a trailing newline in the file) is not part of it.
    private func token() throws -> String? {
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw ValidationError("cannot read the token file \(tokenFile)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let value = ProcessInfo.processInfo.environment["PSPF_ADMIN_TOKEN"]?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        return value?.isEmpty == false ? value : nil
    }
}
