import ArgumentParser

// Placeholder: replaced by the module that owns this command.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Not yet available.")
}
