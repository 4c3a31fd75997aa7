/// A problem in an expression, with its position in the expression's text.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The text is not a well-formed expression.
        case syntax
        /// The expression is well-formed but cannot work: mismatched types, an unknown
        /// function, a wrong number of arguments.
        case type
        /// A field that the schema does not declare, or a computed field used before it is defined.
        case unknownField
    }

    public var kind: Kind
    public var message: String
    public var hint: String?
    /// 0-based offset (in Unicode scalars) of the problem in the expression text.
    public var offset: Int
    /// How many scalars the problem spans (at least 1, except at the end of the text).
    public var length: Int

    public init(_ kind: Kind, _ message: String, hint: String? = nil, range: Range<Int>) {
        self.kind = kind
        self.message = message
        self.hint = hint
        self.offset = range.lowerBound
        self.length = range.count
    }

    /// The 1-based column in the expression text.
    public var column: Int { offset + 1 }

    public var description: String {
        "column \(column): \(message)" + (hint.map { " (hint: \($0))" } ?? "")
    }
}
