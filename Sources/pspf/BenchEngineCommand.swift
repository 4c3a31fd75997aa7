import ArgumentParser

// Placeholder: replaced by the module that owns this command.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "Not yet available.")
}
