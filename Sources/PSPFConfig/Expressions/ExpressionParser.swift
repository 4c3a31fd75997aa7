/// A Pratt parser for the expression language (see docs/expressions.md).
///
/// Precedence, loosest first: `||`/`or`; `&&`/`and`; comparisons (`== != < <= > >=`, not
/// chainable); `??` (right-associative); `+ -`; `* / %`; prefix `-`, `!`/`not`.
struct ExpressionParser {
    private var tokens: [ExpressionLexer.Token]
    private var position = 0

    static func parse(_ text: String) throws(ExpressionError) -> ExpressionNode {
        var parser = ExpressionParser(tokens: try ExpressionLexer.tokenize(text))
        if case .end = parser.peek.kind {
            throw ExpressionError(.syntax, "empty expression", range: 0..<0)
        }
        let node = try parser.expression(minimumBindingPower: 0)
        guard case .end = parser.peek.kind else {
            let token = parser.peek
            if case .rightParen = token.kind {
                throw ExpressionError(.syntax, "unmatched ')'", range: token.range)
            }
            throw ExpressionError(
                .syntax, "unexpected \(Self.describe(token)) after a complete expression",
                hint: "join conditions with && or ||, values with an operator", range: token.range)
        }
        return node
    }

    private init(tokens: [ExpressionLexer.Token]) { self.tokens = tokens }

    private var peek: ExpressionLexer.Token { tokens[position] }

    private mutating func next() -> ExpressionLexer.Token {
        defer { if position < tokens.count - 1 { position += 1 } }
        return tokens[position]
    }

    private static func describe(_ token: ExpressionLexer.Token) -> String {
        if case .end = token.kind { return "end of expression" }
        return "'\(token.text)'"
    }

    /// The binary operator at the current token, if any (`and`/`or` count).
    private var infixOperator: BinaryOperator? {
        switch peek.kind {
        case .op(let o): BinaryOperator(rawValue: o)
        case .word("and"): .and
        case .word("or"): .or
        default: nil
        }
    }

    private mutating func expression(minimumBindingPower: Int) throws(ExpressionError) -> ExpressionNode {
        var lhs = try prefix()
        var previousComparison: BinaryOperator?
        while let op = infixOperator {
            let (left, right) = op.bindingPower
            if left < minimumBindingPower { break }
            if op.isComparison, let previous = previousComparison {
                throw ExpressionError(
                    .syntax, "comparisons cannot be chained ('\(previous.rawValue)' then '\(op.rawValue)')",
                    hint: "write (a < b) && (b < c)", range: peek.range)
            }
            _ = next()
            let rhs = try expression(minimumBindingPower: right)
            lhs = ExpressionNode(kind: .binary(op, lhs, rhs), range: lhs.range.lowerBound..<rhs.range.upperBound)
            previousComparison = op.isComparison ? op : nil
        }
        return lhs
    }

    private mutating func prefix() throws(ExpressionError) -> ExpressionNode {
        let token = next()
        switch token.kind {
        case .number(let v): return ExpressionNode(kind: .number(v), range: token.range)
        case .string(let s): return ExpressionNode(kind: .string(s), range: token.range)
        case .op("-"), .op("!"), .word("not"):
            let op: UnaryOperator = if case .op("-") = token.kind { .negate } else { .not }
            let operand = try expression(minimumBindingPower: BinaryOperator.prefixBindingPower)
            return ExpressionNode(kind: .unary(op, operand), range: token.range.lowerBound..<operand.range.upperBound)
        case .op("+"):
            throw ExpressionError(.syntax, "unexpected '+'", hint: "numbers need no '+' sign", range: token.range)
        case .leftParen:
            let inner = try expression(minimumBindingPower: 0)
            let close = next()
            guard case .rightParen = close.kind else {
                throw ExpressionError(
                    .syntax,
                    "expected ')' to close the '(' at column \(token.range.lowerBound + 1), found \(Self.describe(close))",
                    range: close.range)
            }
            return ExpressionNode(kind: inner.kind, range: token.range.lowerBound..<close.range.upperBound)
        case .word("true"): return ExpressionNode(kind: .bool(true), range: token.range)
        case .word("false"): return ExpressionNode(kind: .bool(false), range: token.range)
        case .word("null"): return ExpressionNode(kind: .null, range: token.range)
        case .word("and"), .word("or"):
            throw ExpressionError(.syntax, "expected a value before '\(token.text)'", range: token.range)
        case .word(let name):
            if case .leftParen = peek.kind { return try call(name, token.range) }
            return try fieldPath(first: name, token.range)
        case .quotedName(let name):
            return try fieldPath(first: name, token.range)
        case .end:
            throw ExpressionError(.syntax, "expected a value, found end of expression", range: token.range)
        case .op(let o):
            throw ExpressionError(.syntax, "expected a value before '\(o)'", range: token.range)
        case .rightParen:
            throw ExpressionError(.syntax, "expected a value before ')'", range: token.range)
        case .comma, .dot:
            throw ExpressionError(.syntax, "expected a value, found '\(token.text)'", range: token.range)
        }
    }

    private mutating func fieldPath(first: String, _ range: Range<Int>) throws(ExpressionError) -> ExpressionNode {
        var components = [first]
        var end = range.upperBound
        while case .dot = peek.kind {
            _ = next()
            let component = next()
            switch component.kind {
            case .word(let w), .quotedName(let w):
                components.append(w)
                end = component.range.upperBound
            default:
                throw ExpressionError(
                    .syntax, "expected a field name after '.', found \(Self.describe(component))",
                    range: component.range)
            }
        }
        if case .leftParen = peek.kind {
            throw ExpressionError(
                .syntax, "'\(components.joined(separator: "."))' is not a function", range: range.lowerBound..<end)
        }
        return ExpressionNode(kind: .field(FieldName(components: components)), range: range.lowerBound..<end)
    }

    private mutating func call(_ name: String, _ nameRange: Range<Int>) throws(ExpressionError) -> ExpressionNode {
        let open = next()  // (
        var arguments: [ExpressionNode] = []
        if case .rightParen = peek.kind {
            let close = next()
            return ExpressionNode(
                kind: .call(name, [], nameRange: nameRange), range: nameRange.lowerBound..<close.range.upperBound)
        }
        while true {
            arguments.append(try expression(minimumBindingPower: 0))
            let separator = next()
            switch separator.kind {
            case .comma: continue
            case .rightParen:
                return ExpressionNode(
                    kind: .call(name, arguments, nameRange: nameRange),
                    range: nameRange.lowerBound..<separator.range.upperBound)
            default:
                throw ExpressionError(
                    .syntax,
                    "expected ',' or ')' in the arguments of \(name)( at column \(open.range.lowerBound + 1), found \(Self.describe(separator))",
                    range: separator.range)
            }
        }
    }
}
