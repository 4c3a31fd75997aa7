import ArgumentParser

@main
struct PSPFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pspf",
        abstract: "PSPF: a stream-processing daemon for MQTT edge gateways.",
        subcommands: [
            DemoCommand.self, ValidateCommand.self, IngestCommand.self, ProcessCommand.self,
            ProcessSimulateLogCommand.self, SimulateCommand.self, PublishCommand.self, LogCommand.self,
            DeadLetterCommand.self, StateCommand.self, BenchCommand.self, RunCommand.self,
            StatusCommand.self,
            InspectCommand.self,
        ]
    )
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure this machine; prints one JSON object per result line.",
        subcommands: [BenchLogCommand.self, BenchEngineCommand.self, BenchIngestCommand.self, BenchCheckpointCommand.self, BenchE2ECommand.self]
    )
}
