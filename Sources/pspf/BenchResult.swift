import PSPFJSON

/// One benchmark figure, printed as one JSON object per line so results can be collected
/// with `pspf bench … >> results.jsonl`.
struct BenchResult {
    var name: String
    var value: Double
    var unit: String
    var parameters: [(String, String)] = []

    func printLine() { print(line) }

    /// The JSON object, one line.
    var line: String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("name"); writer.string(name)
        writer.key("value"); writer.number((value * 1000).rounded() / 1000)
        writer.key("unit"); writer.string(unit)
        for (key, parameter) in parameters {
            writer.key(key)
            if let number = Double(parameter) { writer.number(number) } else { writer.string(parameter) }
        }
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
