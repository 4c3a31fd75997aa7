import ArgumentParser
import Foundation
import PSPFConfig

/// `pspf validate FILE`: loads a configuration the way the daemon does (environment variables,
/// secret files, certificate paths) and prints either `FILE: OK` with one line per pipeline,
/// or every error with its file:line:column on standard error (exit status 1).
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a configuration file and report every error with its line and column.",
        discussion: """
            Reads FILE as the daemon would: ${VAR} is interpolated from this process's environment, \
            and *_file secrets and TLS certificate paths must be readable, so run it as the daemon's user.
            """)

    @Argument(help: "The configuration file.") var file: String

    func run() throws {
        do {
            let config = try ConfigLoader.load(file: file)
            let built = try PipelineBuilder(configuration: config).buildAll()
            print("\(file): OK")
            for pipeline in built { print("  " + pipeline.config.summary) }
        } catch {
            let count = error.count
            let report = error.description + "\n\(file): \(count) error\(count == 1 ? "" : "s")\n"
            FileHandle.standardError.write(Data(report.utf8))
            throw ExitCode.failure
        }
    }
}
