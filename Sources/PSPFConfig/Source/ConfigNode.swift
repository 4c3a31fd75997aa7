/// The configuration file as a tree whose every node knows where it is in the file. Built from
/// Yams' composed `Node`s; scalar values are interpolated (`${VAR}`) on the way.
final class ConfigNode {
    enum Kind {
        case scalar(Scalar)
        case mapping([(key: ConfigNode, value: ConfigNode)])
        case sequence([ConfigNode])
    }

    /// A scalar value. Configuration values are read as text and parsed according to the key
    /// they belong to (YAML's own typing is not used), so `name: no` is the string "no" and
    /// `port: "1883"` is the number 1883.
    struct Scalar {
        /// The value after interpolation.
        var text: String
        /// The value as written (after YAML unquoting, before interpolation).
        var raw: String
        /// A plain `null`, `~` or empty value (or one that interpolated to nothing).
        var isNull: Bool
        var isQuoted: Bool
        /// Maps offsets in `text` back to offsets in `raw`.
        var interpolation: InterpolationMap
        /// Interpolation failed (reported): the value is unusable and not checked further.
        var isInvalid = false
    }

    let kind: Kind
    let location: SourceLocation

    init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    var scalar: Scalar? {
        if case .scalar(let s) = kind { return s }
        return nil
    }

    var isNull: Bool { scalar?.isNull ?? false }

    /// "a mapping", "a list", "a value", used in "expected X, found Y" messages.
    var kindDescription: String {
        switch kind {
        case .scalar(let s): s.isNull ? "null" : "'\(s.text.count > 40 ? String(s.text.prefix(40)) + "…" : s.text)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}

/// How the offsets of an interpolated value map back to the value as written.
struct InterpolationMap {
    /// Substitutions, in order: the range in the result and the range of `${…}` in the raw text.
    var substitutions: [(result: Range<Int>, raw: Range<Int>)] = []

    /// The raw offset of result offset `offset` (inside a substitution: the `$`).
    func rawOffset(of offset: Int) -> Int {
        var delta = 0
        for s in substitutions {
            if offset < s.result.lowerBound { break }
            if offset < s.result.upperBound { return s.raw.lowerBound }
            delta = s.raw.upperBound - s.result.upperBound
        }
        return offset + delta
    }
}
