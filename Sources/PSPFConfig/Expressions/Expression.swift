/// A parsed expression of the configuration's expression language (docs/expressions.md):
/// `temp > 30 && exists(meta.site)`, `round((temp - 32) / 1.8, 1)`, `hum ?? 0`.
///
/// Parsing checks the syntax; the pipeline checks types and field names against its schema and
/// compiles it to closures over slot indices when it is built.
///
/// ```swift
/// let e = try Expression(parsing: "a + b * c")
/// e.canonical          // "(a + (b * c))"
/// e.fields             // ["a", "b", "c"]
/// ```
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// The text as written (after `${VAR}` interpolation).
    public let text: String
    let root: ExpressionNode

    public init(parsing text: String) throws(ExpressionError) {
        self.text = text
        self.root = try ExpressionParser.parse(text)
    }

    public var description: String { text }

    /// The tree fully parenthesised, e.g. `((a + (b * c)) > 2)`.
    public var canonical: String { root.canonical }

    /// The fields the expression names, dotted, in order of first appearance.
    public var fields: [String] { fieldReferences.map(\.0.dotted) }

    var fieldReferences: [(FieldName, Range<Int>)] {
        var fields: [(FieldName, Range<Int>)] = []
        root.collectFields(into: &fields)
        return fields
    }

    public static func == (a: Expression, b: Expression) -> Bool { a.text == b.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}
