/// A field named in an expression: a dotted payload path (`meta.site`) or a computed field's
/// name. Components that are not plain identifiers are written in backticks (`` `temp-c` ``).
struct FieldName: Hashable, Sendable, CustomStringConvertible {
    var components: [String]

    var dotted: String { components.joined(separator: ".") }

    var description: String {
        components.map { FieldName.isPlainIdentifier($0) ? $0 : "`\($0)`" }.joined(separator: ".")
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isIdentifierStart else { return false }
        return name.unicodeScalars.allSatisfy(\.isIdentifierContinue) && !Keyword.all.contains(name)
    }
}

enum Keyword {
    static let all: Set<String> = ["and", "or", "not", "true", "false", "null"]
}

extension Unicode.Scalar {
    var isIdentifierStart: Bool {
        switch self {
        case "a"..."z", "A"..."Z", "_": true
        default: false
        }
    }

    var isIdentifierContinue: Bool {
        switch self {
        case "a"..."z", "A"..."Z", "_", "0"..."9": true
        default: false
        }
    }
}

enum UnaryOperator: String, Sendable {
    case negate = "-"
    case not = "!"
}

enum BinaryOperator: String, Sendable, CaseIterable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and = "&&", or = "||"
    case coalesce = "??"

    var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: true
        default: false
        }
    }

    var isArithmetic: Bool {
        switch self {
        case .add, .subtract, .multiply, .divide, .remainder: true
        default: false
        }
    }

    /// Pratt binding powers (left, right). Higher binds tighter; `left > right` makes the
    /// operator right-associative (`??`). Comparisons do not chain (checked by the parser).
    var bindingPower: (left: Int, right: Int) {
        switch self {
        case .or: (1, 2)
        case .and: (3, 4)
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: (5, 6)
        case .coalesce: (8, 7)
        case .add, .subtract: (9, 10)
        case .multiply, .divide, .remainder: (11, 12)
        }
    }

    static let prefixBindingPower = 13
}

/// A node of the syntax tree, with its range in the expression text (offsets in Unicode scalars).
struct ExpressionNode: Sendable, Hashable {
    indirect enum Kind: Sendable, Hashable {
        case number(Double)
        case string(String)
        case bool(Bool)
        case null
        case field(FieldName)
        case unary(UnaryOperator, ExpressionNode)
        case binary(BinaryOperator, ExpressionNode, ExpressionNode)
        /// A function call; `nameRange` covers the function's name.
        case call(String, [ExpressionNode], nameRange: Range<Int>)
    }

    var kind: Kind
    var range: Range<Int>

    /// Fully parenthesised, for tests and error messages: `(a + (b * c))`.
    var canonical: String {
        switch kind {
        case .number(let v): v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
        case .string(let s):
            "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        case .bool(let b): String(b)
        case .null: "null"
        case .field(let name): name.description
        case .unary(let op, let operand): "(\(op.rawValue)\(operand.canonical))"
        case .binary(let op, let l, let r): "(\(l.canonical) \(op.rawValue) \(r.canonical))"
        case .call(let name, let args, _): "\(name)(\(args.map(\.canonical).joined(separator: ", ")))"
        }
    }

    /// Every field the expression names, in order of first appearance.
    func collectFields(into fields: inout [(FieldName, Range<Int>)]) {
        switch kind {
        case .field(let name):
            if !fields.contains(where: { $0.0 == name }) { fields.append((name, range)) }
        case .unary(_, let operand): operand.collectFields(into: &fields)
        case .binary(_, let l, let r):
            l.collectFields(into: &fields)
            r.collectFields(into: &fields)
        case .call(_, let args, _): for a in args { a.collectFields(into: &fields) }
        default: break
        }
    }
}
