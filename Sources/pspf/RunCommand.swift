import ArgumentParser
import Foundation
import Logging
import PSPFConfig
import PSPFDaemon
import PSPFStorage
import PSPFRuntime

/// `pspf run FILE`: the daemon. Everything FILE declares runs until SIGTERM or SIGINT, then stops
/// gracefully (ingest first, the pipelines' final checkpoints, the sinks' drain) and exits 0.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: ingest, pipelines and sinks from a configuration file.",
        discussion: """
            Loads FILE (as `pspf validate` does; any error stops the start with exit status 2), \
            recovers every pipeline from its last checkpoint, and runs until SIGTERM or SIGINT. \
            Logs go to standard error, one logfmt line per event (journald-friendly under systemd).
            """)

    @Argument(help: "The configuration file.") var file: String

    @Option(help: "Log level, overriding logging.level of the file (trace … critical).")
    var logLevel: Logger.Level?

    @Flag(help: "Log in journald's format (priority prefix, no timestamp) even outside systemd.")
    var journald = false

    func run() async throws {
        MallocArenas.limitToCores()
        let configuration: PSPFConfiguration
        do {
            configuration = try ConfigLoader.load(file: file)
            _ = try PipelineBuilder(configuration: configuration).buildAll()
        } catch {
            let report = error.description + "\n\(file): \(error.count) error\(error.count == 1 ? "" : "s")\n"
            FileHandle.standardError.write(Data(report.utf8))
            throw ExitCode(2)
        }
        let level = logLevel ?? Logger.Level(rawValue: configuration.logging.level.rawValue) ?? .info
        let journald = self.journald ? true : nil
        LoggingSystem.bootstrap { label in
            var handler = LogfmtLogHandler(label: label, journald: journald)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "pspf")
        let daemon = Daemon(configuration: configuration, logger: logger, serveAdmin: true)
        do {
            try await daemon.run()
        } catch {
            throw failClearly(error, command: "run")
        }
    }
}
