import PSPFStorage

/// The shape a checkpoint's state belongs to, stored with it (one state row, operator
/// `_pipeline`) and compared on recovery, so state is never restored into a different pipeline.
///
/// Text, one fact per line, so an operator can read it with `sqlite3`:
///
/// ```
/// pspf-pipeline 1
/// name temp-stats
/// input readings 4
/// codec binary 1
/// operator 0.window window tumbling(size: 10000ms, offset: 0ms) event-time … aggregate …
/// ```
struct PipelineDescriptor: Equatable, Sendable {
    var name: String
    var inputTopic: String
    var inputPartitions: Int
    var codecVersion: Int
    var operators: [String]

    static let operatorID = "_pipeline"

    var text: String {
        var lines = [
            "pspf-pipeline 1", "name \(name)", "input \(inputTopic) \(inputPartitions)", "codec binary \(codecVersion)",
        ]
        lines += operators.map { "operator \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    init(name: String, inputTopic: String, inputPartitions: Int, codecVersion: Int, operators: [String]) {
        self.name = name
        self.inputTopic = inputTopic
        self.inputPartitions = inputPartitions
        self.codecVersion = codecVersion
        self.operators = operators
    }

    init?(text: String) {
        var name: String?
        var input: (String, Int)?
        var codec: Int?
        var operators: [String] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == "pspf-pipeline 1" else { return nil }
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let value = String(parts[1])
            switch parts[0] {
            case "name": name = value
            case "input":
                let fields = value.split(separator: " ")
                guard fields.count == 2, let count = Int(fields[1]) else { return nil }
                input = (String(fields[0]), count)
            case "codec":
                guard value.hasPrefix("binary "), let version = Int(value.dropFirst("binary ".count)) else {
                    return nil
                }
                codec = version
            case "operator": operators.append(value)
            default: continue
            }
        }
        guard let name, let input, let codec else { return nil }
        self.init(name: name, inputTopic: input.0, inputPartitions: input.1, codecVersion: codec, operators: operators)
    }

    func stateEntry() -> StateEntry {
        StateEntry(pipeline: name, partition: 0, operatorID: Self.operatorID, key: [], value: Array(text.utf8))
    }

    /// What differs from `other` (the checkpoint's), as sentences; empty when compatible.
    func differences(from stored: PipelineDescriptor) -> [String] {
        var problems: [String] = []
        if stored.inputTopic != inputTopic || stored.inputPartitions != inputPartitions {
            problems.append(
                "the checkpoint reads input '\(stored.inputTopic)' with \(stored.inputPartitions) partitions, this run '\(inputTopic)' with \(inputPartitions)"
            )
        }
        if stored.codecVersion != codecVersion {
            // Formats are positional: state of another version would be misread, never converted.
            let writer = stored.codecVersion < codecVersion ? "an older" : "a newer"
            problems.append(
                "state codec version \(stored.codecVersion) in the checkpoint, \(codecVersion) here (the state was written by \(writer) pspf in a format this one does not read)"
            )
        }
        if stored.operators != operators {
            problems.append(
                "stateful operators differ: checkpoint [\(stored.operators.joined(separator: "; "))], pipeline [\(operators.joined(separator: "; "))]"
            )
        }
        return problems
    }
}
