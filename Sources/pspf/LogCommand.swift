import ArgumentParser

/// `pspf log …`: inspect the native partitioned log. Every subcommand opens topics read-only
/// (no lock, no repair), so it is safe while the daemon runs.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Inspect the native partitioned log (read-only; safe while the daemon runs).",
        subcommands: [LogTopicsCommand.self, LogGroupsCommand.self, LogTailCommand.self, LogVerifyCommand.self]
    )
}
