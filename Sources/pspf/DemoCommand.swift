import ArgumentParser

// Placeholder: replaced by the module that owns this command.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Not yet available.")
}
