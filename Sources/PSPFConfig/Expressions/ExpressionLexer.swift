/// Splits expression text into tokens, with offsets in Unicode scalars.
struct ExpressionLexer {
    enum TokenKind: Hashable {
        case number(Double)
        case string(String)
        /// A plain word (identifier or keyword) — the parser decides which.
        case word(String)
        /// A name in backticks: never a keyword.
        case quotedName(String)
        case op(String)
        case leftParen, rightParen, comma, dot
        case end
    }

    struct Token: Hashable {
        var kind: TokenKind
        var range: Range<Int>

        var text: String {
            switch kind {
            case .number(let v): String(v)
            case .string(let s): "'\(s)'"
            case .word(let w): w
            case .quotedName(let n): "`\(n)`"
            case .op(let o): o
            case .leftParen: "("
            case .rightParen: ")"
            case .comma: ","
            case .dot: "."
            case .end: "end of expression"
            }
        }
    }

    static func tokenize(_ text: String) throws(ExpressionError) -> [Token] {
        let s = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func error(_ message: String, hint: String? = nil, _ range: Range<Int>) -> ExpressionError {
            ExpressionError(.syntax, message, hint: hint, range: range)
        }
        while i < s.count {
            let c = s[i]
            let start = i
            switch c {
            case " ", "\t", "\n", "\r":
                i += 1
            case "0"..."9":
                while i < s.count, ("0"..."9").contains(s[i]) { i += 1 }
                if i < s.count, s[i] == ".", i + 1 < s.count, ("0"..."9").contains(s[i + 1]) {
                    i += 1
                    while i < s.count, ("0"..."9").contains(s[i]) { i += 1 }
                } else if i < s.count, s[i] == ".", !(i + 1 < s.count && s[i + 1].isIdentifierStart) {
                    throw error("expected digits after '.' in a number", hint: "write 1.0 or 1", start..<i + 1)
                }
                if i < s.count, s[i] == "e" || s[i] == "E" {
                    var j = i + 1
                    if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
                    guard j < s.count, ("0"..."9").contains(s[j]) else {
                        throw error("expected digits in the exponent of a number", start..<j)
                    }
                    while j < s.count, ("0"..."9").contains(s[j]) { j += 1 }
                    i = j
                }
                if i < s.count, s[i].isIdentifierStart {
                    throw error(
                        "unexpected '\(s[i])' after a number", hint: "separate words with an operator", i..<i + 1)
                }
                let literal = String(String.UnicodeScalarView(s[start..<i]))
                guard let value = Double(literal), value.isFinite else {
                    throw error("number '\(literal)' is out of range", start..<i)
                }
                tokens.append(Token(kind: .number(value), range: start..<i))
            case "'", "\"":
                let quote = c
                var value = String.UnicodeScalarView()
                i += 1
                var closed = false
                while i < s.count {
                    if s[i] == quote {
                        closed = true
                        i += 1
                        break
                    }
                    if s[i] == "\\" {
                        guard i + 1 < s.count else { break }
                        switch s[i + 1] {
                        case "\\": value.append("\\")
                        case "'": value.append("'")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default:
                            throw error(
                                "unknown escape '\\\(s[i + 1])' in a string",
                                hint: "use \\\\, \\', \\\", \\n, \\t or \\r",
                                i..<i + 2)
                        }
                        i += 2
                        continue
                    }
                    value.append(s[i])
                    i += 1
                }
                guard closed else {
                    throw error("unterminated string", hint: "close it with \(quote)", start..<s.count)
                }
                tokens.append(Token(kind: .string(String(value)), range: start..<i))
            case "`":
                guard let close = s[(i + 1)...].firstIndex(of: "`") else {
                    throw error("unterminated `name`", hint: "close it with `", start..<s.count)
                }
                guard close > i + 1 else { throw error("empty `name`", start..<close + 1) }
                tokens.append(
                    Token(
                        kind: .quotedName(String(String.UnicodeScalarView(s[(i + 1)..<close]))),
                        range: start..<close + 1))
                i = close + 1
            case _ where c.isIdentifierStart:
                while i < s.count, s[i].isIdentifierContinue { i += 1 }
                tokens.append(Token(kind: .word(String(String.UnicodeScalarView(s[start..<i]))), range: start..<i))
            case "(":
                tokens.append(Token(kind: .leftParen, range: start..<start + 1))
                i += 1
            case ")":
                tokens.append(Token(kind: .rightParen, range: start..<start + 1))
                i += 1
            case ",":
                tokens.append(Token(kind: .comma, range: start..<start + 1))
                i += 1
            case ".":
                tokens.append(Token(kind: .dot, range: start..<start + 1))
                i += 1
            default:
                let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
                let two: String? = next.map { String(c) + String($0) }
                if let two, ["==", "!=", "<=", ">=", "&&", "||", "??"].contains(two) {
                    tokens.append(Token(kind: .op(two), range: start..<start + 2))
                    i += 2
                } else if ["+", "-", "*", "/", "%", "<", ">", "!"].contains(String(c)) {
                    tokens.append(Token(kind: .op(String(c)), range: start..<start + 1))
                    i += 1
                } else if c == "=" {
                    throw error("unexpected '='", hint: "compare with '=='", start..<start + 1)
                } else if c == "&" {
                    throw error("unexpected '&'", hint: "write '&&' or 'and'", start..<start + 1)
                } else if c == "|" {
                    throw error("unexpected '|'", hint: "write '||' or 'or'", start..<start + 1)
                } else if c == "?" {
                    throw error("unexpected '?'", hint: "'??' gives a default for null: temp ?? 0", start..<start + 1)
                } else {
                    throw error("unexpected character '\(c)'", start..<start + 1)
                }
            }
        }
        tokens.append(Token(kind: .end, range: s.count..<s.count))
        return tokens
    }
}
