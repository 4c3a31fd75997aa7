import ArgumentParser

@main
struct PSPFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pspf",
        abstract: "PSPF: a stream-processing daemon for MQTT edge gateways.",
        subcommands: [DemoCommand.self, LogCommand.self, BenchCommand.self, ValidateCommand.self]
    )
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure this machine; prints one JSON object per result line.",
        subcommands: [BenchLogCommand.self, BenchEngineCommand.self]
    )
}
