import Foundation

/// A compiled expression: a closure over a row whose field references were resolved to slot
/// indices when the pipeline was built, so evaluation does no lookups by name and, for numbers
/// and booleans, no allocation.
typealias CompiledExpression = @Sendable (ConfigRow) -> RowValue

/// Compiles a checked syntax tree into nested closures.
///
/// Run-time semantics (docs/expressions.md): null propagates through arithmetic and numeric
/// functions; `x / 0` and `x % 0` are null; comparisons involving null are false; `&&`, `||`
/// and `!` treat anything but `true` as false; `??` and `coalesce` skip nulls. Operands of an
/// unexpected type at run time (possible only for fields without a schema) behave like null.
enum ExpressionCompiler {
    static func compile(_ node: ExpressionNode, slot: (FieldName) -> Int) -> CompiledExpression {
        switch node.kind {
        case .number(let v):
            let value = RowValue.number(v)
            return { _ in value }
        case .string(let s):
            let value = RowValue.string(s)
            return { _ in value }
        case .bool(let b):
            let value = RowValue.bool(b)
            return { _ in value }
        case .null:
            return { _ in .null }
        case .field(let name):
            let index = slot(name)
            return { row in row.values[index] }
        case .unary(let op, let operand):
            let x = compile(operand, slot: slot)
            switch op {
            case .negate:
                return { row in
                    switch x(row) {
                    case .number(let v): .number(-v)
                    case .integer(let v): .number(-Double(v))
                    default: .null
                    }
                }
            case .not:
                return { row in .bool(!x(row).isTrue) }
            }
        case .binary(let op, let l, let r):
            let a = compile(l, slot: slot)
            let b = compile(r, slot: slot)
            return binary(op, a, b)
        case .call(let name, let args, _):
            let compiled = args.map { compile($0, slot: slot) }
            return call(ExpressionFunction(rawValue: name)!, compiled, slot: slot, args: args)
        }
    }

    private static func binary(
        _ op: BinaryOperator, _ a: @escaping CompiledExpression, _ b: @escaping CompiledExpression
    )
        -> CompiledExpression
    {
        switch op {
        case .add:
            return { row in
                let x = a(row)
                let y = b(row)
                if let p = x.number, let q = y.number { return .number(p + q) }
                if case .string(let s) = x, case .string(let t) = y { return .string(s + t) }
                return .null
            }
        case .subtract: return numeric(a, b) { $0 - $1 }
        case .multiply: return numeric(a, b) { $0 * $1 }
        case .divide: return numeric(a, b) { $1 == 0 ? nil : $0 / $1 }
        case .remainder: return numeric(a, b) { $1 == 0 ? nil : $0.truncatingRemainder(dividingBy: $1) }
        case .equal: return { row in .bool(equal(a(row), b(row)) == true) }
        case .notEqual: return { row in .bool(equal(a(row), b(row)) == false) }
        case .less: return ordered(a, b) { $0 < $1 }
        case .lessOrEqual: return ordered(a, b) { $0 <= $1 }
        case .greater: return ordered(a, b) { $0 > $1 }
        case .greaterOrEqual: return ordered(a, b) { $0 >= $1 }
        case .and: return { row in .bool(a(row).isTrue && b(row).isTrue) }
        case .or: return { row in .bool(a(row).isTrue || b(row).isTrue) }
        case .coalesce:
            return { row in
                let x = a(row)
                return x.isNullish ? b(row) : x
            }
        }
    }

    @inline(__always)
    private static func numeric(
        _ a: @escaping CompiledExpression, _ b: @escaping CompiledExpression,
        _ f: @escaping @Sendable (Double, Double) -> Double?
    ) -> CompiledExpression {
        return { row in
            guard let p = a(row).number, let q = b(row).number, let v = f(p, q) else { return .null }
            return .number(v)
        }
    }

    /// `true`/`false` for comparable values, `nil` when either side is null or the types differ
    /// (then `==` and `!=` are both false... except `!=` on two different non-null types).
    @inline(__always)
    static func equal(_ x: RowValue, _ y: RowValue) -> Bool? {
        if let p = x.number, let q = y.number { return p == q }
        switch (x, y) {
        case (.string(let s), .string(let t)): return s == t
        case (.bool(let s), .bool(let t)): return s == t
        case (.null, _), (_, .null), (.composite, _), (_, .composite): return nil
        default: return false  // two values of different types are not equal
        }
    }

    private static func ordered(
        _ a: @escaping CompiledExpression, _ b: @escaping CompiledExpression,
        _ f: @escaping @Sendable (Double, Double) -> Bool
    ) -> CompiledExpression {
        return { row in
            let x = a(row)
            let y = b(row)
            if let p = x.number, let q = y.number { return .bool(f(p, q)) }
            if case .string(let s) = x, case .string(let t) = y {
                return .bool(f(s < t ? -1 : s == t ? 0 : 1, 0))
            }
            return .bool(false)
        }
    }

    private static func call(
        _ function: ExpressionFunction, _ f: [CompiledExpression], slot: (FieldName) -> Int, args: [ExpressionNode]
    ) -> CompiledExpression {
        switch function {
        case .abs: return unary(f[0]) { Swift.abs($0) }
        case .floor: return unary(f[0]) { $0.rounded(.down) }
        case .ceil: return unary(f[0]) { $0.rounded(.up) }
        case .sqrt: return unary(f[0]) { $0 < 0 ? nil : $0.squareRoot() }
        case .round:
            if f.count == 1 { return unary(f[0]) { $0.rounded(.toNearestOrAwayFromZero) } }
            let x = f[0]
            let d = f[1]
            return { row in
                guard let v = x(row).number, let digits = d(row).number else { return .null }
                return .number(round(v, digits: Int(Swift.max(-15, Swift.min(15, digits.rounded())))))
            }
        case .min, .max:
            let isMax = function == .max
            return { row in
                var best: Double?
                for g in f {
                    guard let v = g(row).number else { return .null }
                    if let b = best { best = isMax ? Swift.max(b, v) : Swift.min(b, v) } else { best = v }
                }
                return best.map(RowValue.number) ?? .null
            }
        case .clamp:
            let (x, lo, hi) = (f[0], f[1], f[2])
            return { row in
                guard let v = x(row).number, let l = lo(row).number, let h = hi(row).number, l <= h else {
                    return .null
                }
                return .number(Swift.min(Swift.max(v, l), h))
            }
        case .exists:
            guard case .field(let name) = args[0].kind else { preconditionFailure("checked: exists takes a field") }
            let index = slot(name)
            return { row in
                if case .null = row.values[index] { return .bool(false) }
                return .bool(true)
            }
        case .coalesce:
            return { row in
                for g in f {
                    let v = g(row)
                    if !v.isNullish { return v }
                }
                return .null
            }
        }
    }

    private static func unary(_ x: @escaping CompiledExpression, _ f: @escaping @Sendable (Double) -> Double?)
        -> CompiledExpression
    {
        return { row in
            guard let v = x(row).number, let r = f(v) else { return .null }
            return .number(r)
        }
    }

    /// Rounds half away from zero to `digits` decimals (negative: to tens, hundreds, …).
    static func round(_ v: Double, digits: Int) -> Double {
        if digits == 0 { return v.rounded(.toNearestOrAwayFromZero) }
        if digits > 0 {
            let p = pow(10, Double(digits))
            let r = (v * p).rounded(.toNearestOrAwayFromZero) / p
            return r.isFinite ? r : v
        }
        let p = pow(10, Double(-digits))
        return (v / p).rounded(.toNearestOrAwayFromZero) * p
    }
}
