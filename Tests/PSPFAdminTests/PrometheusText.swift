/// A small parser of the Prometheus text exposition format (0.0.4), enough to assert on
/// scraped values: `# TYPE` lines give each family's type, every other non-comment line is a
/// sample `name{label="value",…} value`.
struct PrometheusText {
    struct Series: Hashable, CustomStringConvertible {
        var name: String
        var labels: [String: String]

        init(_ name: String, _ labels: [String: String] = [:]) {
            self.name = name
            self.labels = labels
        }

        var description: String {
            name
                + (labels.isEmpty
                    ? ""
                    : "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
                        + "}")
        }
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var samples: [Series: Double] = [:]
    private(set) var types: [String: String] = [:]

    init(_ text: String) throws {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4 else { throw ParseError(description: "bad TYPE line: \(line)") }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let (series, value) = try Self.sample(Substring(line))
            guard samples[series] == nil else { throw ParseError(description: "duplicate series \(series)") }
            samples[series] = value
        }
    }

    subscript(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples[Series(name, labels)]
    }

    /// Every series of a family.
    func series(named name: String) -> [Series: Double] {
        samples.filter { $0.key.name == name }
    }

    private static func sample(_ line: Substring) throws -> (Series, Double) {
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        var labels: [String: String] = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                let equals = try find("=", in: line, from: index)
                let labelName = String(line[index..<equals])
                index = line.index(after: equals)
                guard index < line.endIndex, line[index] == "\"" else {
                    throw ParseError(description: "unquoted label: \(line)")
                }
                index = line.index(after: index)
                var value = ""
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        guard index < line.endIndex else { break }
                        value.append(line[index] == "n" ? "\n" : line[index])
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                guard index < line.endIndex else { throw ParseError(description: "unterminated label: \(line)") }
                index = line.index(after: index)  // closing quote
                labels[labelName] = value
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            guard index < line.endIndex else { throw ParseError(description: "unterminated labels: \(line)") }
            index = line.index(after: index)
        }
        let rest = line[index...].split(separator: " ")
        guard let first = rest.first, let value = Double(first) else {
            throw ParseError(description: "no value: \(line)")
        }
        return (Series(name, labels), value)
    }

    private static func find(_ character: Character, in line: Substring, from start: Substring.Index) throws
        -> Substring.Index
    {
        guard let index = line[start...].firstIndex(of: character) else {
            throw ParseError(description: "expected \(character): \(line)")
        }
        return index
    }
}
