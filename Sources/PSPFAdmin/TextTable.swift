/// Columns padded to their widest cell, two spaces apart: numbers right-aligned, text left.
/// Trailing spaces are trimmed so exact-line tests stay readable.
struct TextTable {
    enum Alignment { case left, right }

    var columns: [(title: String, alignment: Alignment)]
    var rows: [[String]] = []

    init(_ columns: [(String, Alignment)]) {
        self.columns = columns.map { (title: $0.0, alignment: $0.1) }
    }

    mutating func append(_ row: [String]) { rows.append(row) }

    var lines: [String] {
        let all = [columns.map(\.title)] + rows
        var widths = [Int](repeating: 0, count: columns.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        return all.map { row in
            var line = ""
            for (i, cell) in row.enumerated() where i < widths.count {
                if i > 0 { line += "  " }
                let padding = String(repeating: " ", count: widths[i] - cell.count)
                line += columns[i].alignment == .right ? padding + cell : cell + padding
            }
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}
