/// `${VAR}` and `${VAR:-default}` in scalar values.
///
/// * `${VAR}` is replaced by the variable's value; an unset variable is an error.
/// * `${VAR:-default}` uses `default` when the variable is unset or empty (as in the shell).
/// * `$${` writes a literal `${`. A `$` not followed by `{` is kept as it is.
/// * Names are `[A-Za-z_][A-Za-z0-9_]*`; the default may contain anything but `}`.
enum Interpolation {
    struct Failure: Error {
        var offset: Int
        var message: String
        var hint: String
    }

    /// The interpolated text and its offset map, or the first failure (an offset into `raw`).
    /// A value without `$` is returned as is.
    static func apply(_ raw: String, variables: [String: String]) -> Result<(String, InterpolationMap), Failure> {
        guard raw.unicodeScalars.contains("$") else { return .success((raw, InterpolationMap())) }
        let s = Array(raw.unicodeScalars)
        var out = String.UnicodeScalarView()
        var outCount = 0
        var map = InterpolationMap()
        var i = 0
        while i < s.count {
            if s[i] == "$", i + 2 < s.count, s[i + 1] == "$", s[i + 2] == "{" {
                // `$${` → literal `${`: a substitution of 3 raw scalars by 2.
                out.append("$")
                out.append("{")
                map.substitutions.append((outCount..<outCount + 2, i..<i + 3))
                outCount += 2
                i += 3
                continue
            }
            guard s[i] == "$", i + 1 < s.count, s[i + 1] == "{" else {
                out.append(s[i])
                outCount += 1
                i += 1
                continue
            }
            let start = i
            var j = i + 2
            var name = ""
            while j < s.count, isNameScalar(s[j], first: name.isEmpty) {
                name.unicodeScalars.append(s[j])
                j += 1
            }
            guard let close = s[j...].firstIndex(of: "}") else {
                return .failure(
                    Failure(
                        offset: start, message: "unterminated '${' in value",
                        hint: "write ${NAME} or ${NAME:-default}; for a literal '${' write '$${'"))
            }
            guard !name.isEmpty else {
                return .failure(
                    Failure(
                        offset: start,
                        message: "invalid variable name in '\(String(String.UnicodeScalarView(s[start...close])))'",
                        hint: "names are letters, digits and '_', starting with a letter or '_'"))
            }
            var fallback: String?
            if j < close {
                guard j + 1 < close, s[j] == ":", s[j + 1] == "-" else {
                    return .failure(
                        Failure(
                            offset: start,
                            message: "invalid reference '\(String(String.UnicodeScalarView(s[start...close])))'",
                            hint: "write ${NAME} or ${NAME:-default}"))
                }
                fallback = String(String.UnicodeScalarView(s[(j + 2)..<close]))
            }
            let value: String
            if let v = variables[name], !(fallback != nil && v.isEmpty) {
                value = v
            } else if let fallback {
                value = fallback
            } else {
                return .failure(
                    Failure(
                        offset: start, message: "environment variable '\(name)' is not set",
                        hint: "set \(name) in the daemon's environment, or give a default: ${\(name):-value}"))
            }
            let count = value.unicodeScalars.count
            out.append(contentsOf: value.unicodeScalars)
            map.substitutions.append((outCount..<outCount + count, start..<close + 1))
            outCount += count
            i = close + 1
        }
        return .success((String(out), map))
    }

    private static func isNameScalar(_ c: Unicode.Scalar, first: Bool) -> Bool {
        switch c {
        case "A"..."Z", "a"..."z", "_": true
        case "0"..."9": !first
        default: false
        }
    }
}
