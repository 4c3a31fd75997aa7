/// A 1-based line and column in the configuration file (columns in Unicode scalars, as libyaml
/// counts them).
struct SourceLocation: Hashable, Sendable, Comparable {
    var line: Int
    var column: Int

    static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }

    static let unknown = SourceLocation(line: 0, column: 0)
}

/// The configuration text split into lines of Unicode scalars, to map a position inside a
/// scalar value (an expression's column, a `${VAR}`) back to the file.
final class SourceText {
    let lines: [[Unicode.Scalar]]

    init(_ text: String) {
        var lines: [[Unicode.Scalar]] = [[]]
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                lines.append([])
            } else if scalar != "\r" {
                lines[lines.count - 1].append(scalar)
            }
        }
        self.lines = lines
    }

    func scalar(at location: SourceLocation) -> Unicode.Scalar? {
        guard location.line >= 1, location.line <= lines.count else { return nil }
        let line = lines[location.line - 1]
        guard location.column >= 1 else { return nil }
        return location.column <= line.count ? line[location.column - 1] : "\n"
    }

    private func advance(_ location: SourceLocation) -> SourceLocation? {
        guard location.line >= 1, location.line <= lines.count else { return nil }
        if location.column <= lines[location.line - 1].count {
            return SourceLocation(line: location.line, column: location.column + 1)
        }
        guard location.line < lines.count else { return nil }
        return SourceLocation(line: location.line + 1, column: 1)
    }

    /// Where the scalar at `offset` of a scalar's value (before interpolation) sits in the file,
    /// found by walking the value and the source text from the node's start together and
    /// skipping source characters that are not in the value (quotes, escapes, indentation,
    /// block indicators). Exact for plain and quoted single-line values and literal blocks;
    /// `nil` if the walk loses track.
    func location(ofOffset offset: Int, inValue value: [Unicode.Scalar], startingAt start: SourceLocation)
        -> SourceLocation?
    {
        guard offset >= 0 else { return nil }
        var position = start
        var index = 0
        while true {
            // Find value[index] in the source, skipping at most a few characters.
            let target: Unicode.Scalar? = index < value.count ? value[index] : nil
            var skipped = 0
            var found = false
            var probe = position
            while skipped <= 16 {
                guard let here = scalar(at: probe) else { break }
                if let target, here == target || (target == " " && here == "\n") {
                    found = true
                    break
                }
                if target == nil { break }
                guard let next = advance(probe) else { break }
                probe = next
                skipped += 1
            }
            if index == offset {
                // The end of the value (offset == count) maps to just after the last character.
                return found || target == nil ? probe : position
            }
            guard found, let next = advance(probe) else { return nil }
            position = next
            index += 1
        }
    }
}
