import ArgumentParser
import Foundation
import PSPFConfig

/// `pspf inspect FILE`: the topology of a configuration — brokers → sources → pipelines →
/// sinks — as indented text, a Mermaid flowchart, or both.
struct InspectCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, mermaid, both
    }

    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a configuration's topology as text or as a Mermaid flowchart.",
        discussion: """
            Loads FILE as `pspf validate` does (environment variables, secret files), so run it as \
            the daemon's user. Secrets are never printed. Paste the Mermaid output into a ```mermaid \
            block of a Markdown file to draw it.
            """)

    @Argument(help: "The configuration file.") var file: String
    @Option(help: "text, mermaid or both.") var format: Format = .text

    func run() throws {
        let config: PSPFConfiguration
        do {
            config = try ConfigLoader.load(file: file)
        } catch {
            let count = error.count
            let report = error.description + "\n\(file): \(count) error\(count == 1 ? "" : "s")\n"
            FileHandle.standardError.write(Data(report.utf8))
            throw ExitCode.failure
        }
        let topology = TopologyRenderer(configuration: config)
        switch format {
        case .text: print(topology.text(), terminator: "")
        case .mermaid: print(topology.mermaid(), terminator: "")
        case .both: print(topology.text() + "\n" + topology.mermaid(), terminator: "")
        }
    }
}
