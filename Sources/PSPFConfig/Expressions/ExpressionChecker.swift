/// The static type of an expression. `any` is a field whose type is unknown (no schema):
/// checked at run time, where a mismatch yields null.
enum ValueType: Sendable, Hashable, CustomStringConvertible {
    case number, string, bool, null, any

    var description: String {
        switch self {
        case .number: "number"
        case .string: "string"
        case .bool: "boolean"
        case .null: "null"
        case .any: "any"
        }
    }
}

struct ExpressionType: Sendable, Hashable {
    var type: ValueType
    /// Whether the value may be null at run time.
    var nullable: Bool

    static let any = ExpressionType(type: .any, nullable: true)
    static func number(nullable: Bool) -> ExpressionType { ExpressionType(type: .number, nullable: nullable) }
    static let bool = ExpressionType(type: .bool, nullable: false)
}

/// The built-in functions.
enum ExpressionFunction: String, CaseIterable, Sendable {
    case abs, round, floor, ceil, min, max, sqrt, clamp, exists, coalesce

    var arity: ClosedRange<Int> {
        switch self {
        case .abs, .floor, .ceil, .sqrt, .exists: 1...1
        case .round: 1...2
        case .min, .max, .coalesce: 2...16
        case .clamp: 3...3
        }
    }

    var signature: String {
        switch self {
        case .abs: "abs(x)"
        case .round: "round(x) or round(x, digits)"
        case .floor: "floor(x)"
        case .ceil: "ceil(x)"
        case .min: "min(a, b, …)"
        case .max: "max(a, b, …)"
        case .sqrt: "sqrt(x)"
        case .clamp: "clamp(x, lo, hi)"
        case .exists: "exists(field)"
        case .coalesce: "coalesce(a, b, …)"
        }
    }
}

/// Type-checks an expression tree, collecting every error. Fields are typed by `resolve`,
/// which reports unknown ones.
struct ExpressionChecker {
    typealias Resolver = (FieldName, Range<Int>) -> Result<ExpressionType, ExpressionError>

    let resolve: Resolver
    private(set) var errors: [ExpressionError] = []

    init(resolve: @escaping Resolver) { self.resolve = resolve }

    private mutating func fail(_ message: String, hint: String? = nil, _ range: Range<Int>) -> ExpressionType {
        errors.append(ExpressionError(.type, message, hint: hint, range: range))
        return .any
    }

    mutating func check(_ node: ExpressionNode) -> ExpressionType {
        switch node.kind {
        case .number: return .number(nullable: false)
        case .string: return ExpressionType(type: .string, nullable: false)
        case .bool: return .bool
        case .null: return ExpressionType(type: .null, nullable: true)
        case .field(let name):
            switch resolve(name, node.range) {
            case .success(let type): return type
            case .failure(let error):
                errors.append(error)
                return .any
            }
        case .unary(let op, let operand):
            let t = check(operand)
            switch op {
            case .negate:
                guard t.type == .number || t.type == .any || t.type == .null else {
                    return fail("cannot negate a \(t.type)", operand.range)
                }
                return .number(nullable: t.nullable || t.type == .any)
            case .not:
                guard t.type == .bool || t.type == .any || t.type == .null else {
                    return fail(
                        "'!' needs a boolean, found a \(t.type)", hint: "compare first: !(x > 0)", operand.range)
                }
                return .bool
            }
        case .binary(let op, let l, let r):
            let lt = check(l)
            let rt = check(r)
            return binary(op, lt, rt, l, r, node.range)
        case .call(let name, let args, let nameRange):
            guard let function = ExpressionFunction(rawValue: name) else {
                return fail(
                    "unknown function '\(name)'",
                    hint: Suggestions.didYouMean(name, in: ExpressionFunction.allCases.map(\.rawValue))
                        ?? "functions: \(ExpressionFunction.allCases.map(\.rawValue).joined(separator: ", "))",
                    nameRange)
            }
            guard function.arity.contains(args.count) else {
                let expected =
                    function.arity.count == 1
                    ? "\(function.arity.lowerBound) argument\(function.arity.lowerBound == 1 ? "" : "s")"
                    : function.arity.upperBound > 3
                        ? "at least \(function.arity.lowerBound) arguments"
                        : "\(function.arity.lowerBound) or \(function.arity.upperBound) arguments"
                return fail(
                    "\(name) takes \(expected), got \(args.count)", hint: "write \(function.signature)", node.range)
            }
            if function == .exists {
                guard case .field = args[0].kind else {
                    return fail("exists takes a field name", hint: "write exists(meta.site)", args[0].range)
                }
                _ = check(args[0])
                return .bool
            }
            let types = args.map { check($0) }
            if function == .coalesce {
                return unify(types, args, what: "coalesce")
            }
            var nullable = false
            for (t, arg) in zip(types, args) {
                guard t.type == .number || t.type == .any || t.type == .null else {
                    return fail("\(name) needs numbers, found a \(t.type)", arg.range)
                }
                nullable = nullable || t.nullable || t.type == .any
            }
            if function == .sqrt || function == .clamp { nullable = true }
            if function == .round, args.count == 2, case .number(let digits) = args[1].kind,
                digits != digits.rounded() || Swift.abs(digits) > 15
            {
                return fail("round's digits must be a whole number in -15…15", args[1].range)
            }
            return .number(nullable: nullable)
        }
    }

    private mutating func binary(
        _ op: BinaryOperator, _ lt: ExpressionType, _ rt: ExpressionType, _ l: ExpressionNode, _ r: ExpressionNode,
        _ range: Range<Int>
    ) -> ExpressionType {
        let known = lt.type != .any && rt.type != .any
        switch op {
        case .add:
            if lt.type == .string && (rt.type == .string || rt.type == .any)
                || rt.type == .string && lt.type == .any
            {
                return ExpressionType(type: .string, nullable: lt.nullable || rt.nullable)
            }
            fallthrough
        case .subtract, .multiply, .divide, .remainder:
            for (t, side) in [(lt, l), (rt, r)] where t.type != .number && t.type != .any && t.type != .null {
                let what = op == .add ? "add" : "use '\(op.rawValue)' on"
                return fail(
                    "cannot \(what) a \(t.type)\(op == .add && t.type == .string ? " and a number" : "")",
                    hint: t.type == .string && op == .add ? "'+' joins two strings or adds two numbers" : nil,
                    side.range)
            }
            let mayDivideByZero = op == .divide || op == .remainder
            return .number(nullable: lt.nullable || rt.nullable || mayDivideByZero || !known)
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            if lt.type == .null || rt.type == .null {
                let side = lt.type == .null ? l : r
                let other = lt.type == .null ? r : l
                let hint =
                    if case .field(let name) = other.kind {
                        op == .equal ? "write !exists(\(name))" : "write exists(\(name))"
                    } else { "use exists(field) or ??" }
                return fail("a comparison with null is always false", hint: hint, side.range)
            }
            if known && lt.type != rt.type {
                return fail("cannot compare a \(lt.type) with a \(rt.type)", range)
            }
            if !op.isEqualityOnly && (lt.type == .bool || rt.type == .bool) {
                return fail("'\(op.rawValue)' cannot order booleans", hint: "use == or !=", range)
            }
            return .bool
        case .and, .or:
            for (t, side) in [(lt, l), (rt, r)] where t.type != .bool && t.type != .any && t.type != .null {
                return fail(
                    "'\(op.rawValue)' needs booleans, found a \(t.type)", hint: "compare first: x > 0 \(op.rawValue) …",
                    side.range)
            }
            return .bool
        case .coalesce:
            return unify([lt, rt], [l, r], what: "??")
        }
    }

    /// The common type of `??`/`coalesce` operands; nullable only if the last one is.
    private mutating func unify(_ types: [ExpressionType], _ nodes: [ExpressionNode], what: String) -> ExpressionType {
        var result: ValueType?
        var sawAny = false
        for (t, node) in zip(types, nodes) {
            switch t.type {
            case .null: continue
            case .any: sawAny = true
            default:
                if let r = result, r != t.type { return fail("\(what) mixes a \(r) and a \(t.type)", node.range) }
                result = t.type
            }
        }
        let last = types.last ?? .any
        return ExpressionType(type: result ?? (sawAny ? .any : .null), nullable: last.nullable || last.type == .any)
    }
}

extension BinaryOperator {
    fileprivate var isEqualityOnly: Bool { self == .equal || self == .notEqual }
}
