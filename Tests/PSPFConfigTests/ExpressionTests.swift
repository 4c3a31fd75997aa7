import Testing

@testable import PSPFConfig

/// Evaluates `text` over a row holding `fields` (dotted names; absent ones are null).
private func evaluate(_ text: String, _ fields: [String: RowValue] = [:]) throws -> RowValue {
    let expression = try Expression(parsing: text)
    var slots: [FieldName: Int] = [:]
    var row = ConfigRow(slots: expression.fieldReferences.count)
    for (i, (name, _)) in expression.fieldReferences.enumerated() {
        slots[name] = i
        row.values[i] = fields[name.dotted] ?? .null
    }
    let compiled = ExpressionCompiler.compile(expression.root) { slots[$0]! }
    return compiled(row)
}

/// Type-checks `text` with the given field types (unknown fields are errors).
private func typeErrors(_ text: String, _ types: [String: ExpressionType] = [:]) throws -> [ExpressionError] {
    let expression = try Expression(parsing: text)
    var checker = ExpressionChecker { name, range in
        if let t = types[name.dotted] { return .success(t) }
        return .failure(ExpressionError(.unknownField, "unknown field '\(name.dotted)'", range: range))
    }
    _ = checker.check(expression.root)
    return checker.errors
}

private let number = ExpressionType.number(nullable: false)
private let optionalNumber = ExpressionType.number(nullable: true)
private let string = ExpressionType(type: .string, nullable: false)

@Suite struct ExpressionParserTests {
    @Test(arguments: [
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("(1 + 2) * 3", "((1 + 2) * 3)"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b * c % d", "(((a / b) * c) % d)"),
        ("-a * b", "((-a) * b)"),
        ("- -a", "(-(-a))"),
        ("!a && b || c", "(((!a) && b) || c)"),
        ("a || b && c", "(a || (b && c))"),
        ("a and b or not c", "((a && b) || (!c))"),
        ("(a < b) == (c < d)", "((a < b) == (c < d))"),
        ("x > 1 && y <= 2", "((x > 1) && (y <= 2))"),
        ("a ?? b ?? c", "(a ?? (b ?? c))"),
        ("a ?? 0 > 5", "((a ?? 0) > 5)"),
        ("a + b ?? c * d", "((a + b) ?? (c * d))"),
        ("meta.site == 'north'", "(meta.site == 'north')"),
        ("`temp-c` * 2", "(`temp-c` * 2)"),
        ("meta.`site id` != \"x\"", "(meta.`site id` != 'x')"),
        ("round(x, 2)", "round(x, 2)"),
        ("max(a, b + 1, 3)", "max(a, (b + 1), 3)"),
        ("clamp(-x, 0, 1e3)", "clamp((-x), 0, 1000)"),
        ("exists(meta.site) && !exists(alarm)", "(exists(meta.site) && (!exists(alarm)))"),
        ("true != false", "(true != false)"),
        ("null ?? 1.5", "(null ?? 1.5)"),
        ("'it\\'s'", "'it\\'s'"),
        ("2.5e-3 * t", "(0.0025 * t)"),
        ("((a))", "a"),
    ])
    func parsesWithPrecedence(_ text: String, _ canonical: String) throws {
        #expect(try Expression(parsing: text).canonical == canonical)
    }

    @Test(
        arguments: [
            ("", 1, "empty expression"),
            ("1 +", 4, "expected a value, found end of expression"),
            ("temp > > 3", 8, "expected a value before '>'"),
            ("(a + b", 7, "expected ')'"),
            ("a + b)", 6, "unmatched ')'"),
            ("a = 1", 3, "unexpected '='"),
            ("a & b", 3, "unexpected '&'"),
            ("a | b", 3, "unexpected '|'"),
            ("a ? b", 3, "unexpected '?'"),
            ("a < b < c", 7, "comparisons cannot be chained"),
            ("a < b == c", 7, "comparisons cannot be chained"),
            ("'open", 1, "unterminated string"),
            ("x # y", 3, "unexpected character '#'"),
            ("1.", 1, "expected digits after '.'"),
            ("1e", 1, "expected digits in the exponent"),
            ("3abc", 2, "unexpected 'a' after a number"),
            ("a b", 3, "unexpected 'b' after a complete expression"),
            ("f(a b)", 5, "expected ',' or ')'"),
            ("meta.", 6, "expected a field name after '.'"),
            ("meta.site(1)", 1, "is not a function"),
            ("'a\\q'", 3, "unknown escape"),
            ("and x", 1, "expected a value before 'and'"),
            ("+1", 1, "unexpected '+'"),
            ("``", 1, "empty `name`"),
        ] as [(String, Int, String)])
    func reportsSyntaxErrorsWithColumns(_ text: String, _ column: Int, _ message: String) {
        do {
            _ = try Expression(parsing: text)
            Issue.record("'\(text)' should not parse")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func listsItsFields() throws {
        let e = try Expression(parsing: "a + meta.site * a - exists(b) ?? round(c.d, 1)")
        #expect(e.fields == ["a", "meta.site", "b", "c.d"])
    }
}

@Suite struct ExpressionEvaluationTests {
    @Test(
        arguments: [
            // arithmetic and precedence
            ("1 + 2 * 3", [:], RowValue.number(7)),
            ("(1 + 2) * 3", [:], .number(9)),
            ("7 % 4", [:], .number(3)),
            ("-7 % 4", [:], .number(-3)),
            ("10 / 4", [:], .number(2.5)),
            ("temp * 9 / 5 + 32", ["temp": .number(100)], .number(212)),
            ("n + 1", ["n": .integer(41)], .number(42)),
            ("'a' + 'b'", [:], .string("ab")),
            // null propagation
            ("temp + 1", [:], .null),
            ("-temp", [:], .null),
            ("1 / 0", [:], .null),
            ("5 % 0", [:], .null),
            ("abs(temp)", [:], .null),
            ("max(1, temp, 3)", [:], .null),
            ("'a' + 1", [:], .null),
            ("x + 1", ["x": .string("s")], .null),
            ("meta + 1", ["meta": .composite], .null),
            // comparisons: null makes them false
            ("temp > 1", [:], .bool(false)),
            ("temp <= 1", [:], .bool(false)),
            ("temp == 1", [:], .bool(false)),
            ("temp != 1", [:], .bool(false)),
            ("temp != 1", ["temp": .number(2)], .bool(true)),
            ("x == 1", ["x": .string("1")], .bool(false)),
            ("x != 1", ["x": .string("1")], .bool(true)),
            ("site == 'north'", ["site": .string("north")], .bool(true)),
            ("'abc' < 'abd'", [:], .bool(true)),
            ("true == true", [:], .bool(true)),
            ("n == 3", ["n": .integer(3)], .bool(true)),
            // logic: null is false
            ("alarm && true", [:], .bool(false)),
            ("alarm || true", [:], .bool(true)),
            ("!alarm", [:], .bool(true)),
            ("not alarm", ["alarm": .bool(true)], .bool(false)),
            ("a > 1 and b < 2", ["a": .number(2), "b": .number(1)], .bool(true)),
            ("a > 1 or b < 2", ["a": .number(0), "b": .number(3)], .bool(false)),
            // coalesce
            ("hum ?? 0", [:], .number(0)),
            ("hum ?? 0", ["hum": .number(40)], .number(40)),
            ("a ?? b ?? 'x'", [:], .string("x")),
            ("meta ?? 1", ["meta": .composite], .number(1)),
            ("coalesce(a, b, 3)", ["b": .number(2)], .number(2)),
            ("coalesce(a, b)", [:], .null),
            // functions
            ("abs(-2.5)", [:], .number(2.5)),
            ("round(2.5)", [:], .number(3)),
            ("round(-2.5)", [:], .number(-3)),
            ("round(3.14159, 2)", [:], .number(3.14)),
            ("round(1234.5, -2)", [:], .number(1200)),
            ("floor(-1.5)", [:], .number(-2)),
            ("ceil(1.2)", [:], .number(2)),
            ("sqrt(16)", [:], .number(4)),
            ("sqrt(-1)", [:], .null),
            ("min(3, 1, 2)", [:], .number(1)),
            ("max(3, 1, 2)", [:], .number(3)),
            ("clamp(15, 0, 10)", [:], .number(10)),
            ("clamp(-5, 0, 10)", [:], .number(0)),
            ("clamp(5, 10, 0)", [:], .null),
            ("exists(meta.site)", ["meta.site": .string("x")], .bool(true)),
            ("exists(meta.site)", [:], .bool(false)),
            ("exists(meta)", ["meta": .composite], .bool(true)),
        ] as [(String, [String: RowValue], RowValue)])
    func evaluates(_ text: String, _ fields: [String: RowValue], _ expected: RowValue) throws {
        #expect(try evaluate(text, fields) == expected)
    }
}

@Suite struct ExpressionTypeTests {
    @Test(
        arguments: [
            ("temp + 'x'", 8, "cannot add a string"),
            ("site * 2", 1, "cannot use '*' on a string"),
            ("temp > 'hot'", 1, "cannot compare a number with a string"),
            ("temp == null", 9, "a comparison with null is always false"),
            ("temp && true", 1, "'&&' needs booleans, found a number"),
            ("!temp", 2, "'!' needs a boolean"),
            ("-site", 2, "cannot negate a string"),
            ("true < false", 1, "cannot order booleans"),
            ("abss(temp)", 1, "unknown function 'abss'"),
            ("round(temp, 1, 2)", 1, "round takes 1 or 2 arguments, got 3"),
            ("clamp(temp, 1)", 1, "clamp takes 3 arguments, got 2"),
            ("min(temp)", 1, "min takes at least 2 arguments, got 1"),
            ("sqrt(site)", 6, "sqrt needs numbers, found a string"),
            ("exists(1)", 8, "exists takes a field name"),
            ("round(temp, 1.5)", 13, "round's digits must be a whole number"),
            ("temp ?? 'x'", 9, "?? mixes a number and a string"),
            ("tmp + 1", 1, "unknown field 'tmp'"),
        ] as [(String, Int, String)])
    func reportsTypeErrorsWithColumns(_ text: String, _ column: Int, _ message: String) throws {
        let errors = try typeErrors(text, ["temp": number, "site": string, "hum": optionalNumber])
        let error = try #require(errors.first, "'\(text)' should not type-check")
        #expect(error.column == column, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test(arguments: [
        "temp > 30 && exists(meta)", "hum ?? temp", "site + '-' + site", "round(temp * 9 / 5 + 32, 1)",
        "x + 1", "coalesce(hum, temp, 0) > 3", "!(temp > 3) || site == 'a'",
    ])
    func acceptsWellTypedExpressions(_ text: String) throws {
        let errors = try typeErrors(
            text, ["temp": number, "site": string, "hum": optionalNumber, "meta": .any, "x": .any])
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func collectsEveryErrorOfAnExpression() throws {
        let errors = try typeErrors("tmp > 1 && humm < 2", ["temp": number])
        #expect(errors.map(\.column) == [1, 12])
    }
}
