/// A number of bytes written as `64MiB`, `512KiB`, `1GiB`, `100MB` or a bare integer (bytes).
///
/// Binary units (`KiB`, `MiB`, `GiB`, `TiB`) are powers of 1024, decimal ones (`kB`/`KB`, `MB`,
/// `GB`, `TB`) powers of 1000, `B` is one byte. A fraction is allowed (`1.5GiB`) and rounded
/// down to whole bytes.
public struct ByteSize: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public static func < (a: ByteSize, b: ByteSize) -> Bool { a.bytes < b.bytes }

    static let units: [(String, Int64)] = [
        ("B", 1), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("kB", 1000), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
    ]

    static let hint = "use a number of bytes or a size like 512KiB, 64MiB, 1GiB or 100MB"

    /// Parses `text`; `nil` if it is not a size.
    public init?(parsing text: String) {
        guard let bytes = Self.parse(text) else { return nil }
        self.bytes = bytes
    }

    static func parse(_ text: String) -> Int64? {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        guard let literal = DecimalLiteral.scan(scalars, at: &i, maxScale: 1_000_000_000_000, excess: .truncate) else {
            return nil
        }
        let (integer, fraction, fractionScale) = (literal.integer, literal.fraction, literal.scale)
        while i < scalars.count, scalars[i] == " " { i += 1 }
        let unitText = String(String.UnicodeScalarView(scalars[i...]))
        let multiplier: Int64
        if unitText.isEmpty {
            guard fractionScale == 1 else { return nil }
            multiplier = 1
        } else if let unit = units.first(where: { $0.0 == unitText }) {
            multiplier = unit.1
        } else {
            return nil
        }
        let (whole, o1) = integer.multipliedReportingOverflow(by: multiplier)
        if o1 { return nil }
        // fraction / fractionScale × multiplier, rounded down, without overflow for sane inputs.
        let part =
            fractionScale == 1
            ? 0 : Int64((Double(fraction) / Double(fractionScale) * Double(multiplier)).rounded(.down))
        let (total, o2) = whole.addingReportingOverflow(part)
        return o2 ? nil : total
    }

    /// The largest binary unit that divides the size evenly: `64MiB`, `1536B` → `1536B`, `3KiB`.
    public var description: String {
        for (name, value) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes != 0 && bytes % value == 0 {
            return "\(bytes / value)\(name)"
        }
        return "\(bytes)B"
    }
}
