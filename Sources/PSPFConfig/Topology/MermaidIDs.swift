/// Mermaid node ids for configuration names: `kind_name` with every character outside
/// `[A-Za-z0-9_]` replaced by `_`, and a numeric suffix when two names would collide
/// (`temp-stats` and `temp.stats`). The same (kind, name) always gets the same id.
struct MermaidIDs {
    private var assigned: [String: String] = [:]
    private var used: Set<String> = []

    mutating func id(kind: String, name: String) -> String {
        let key = kind + "\u{0}" + name
        if let id = assigned[key] { return id }
        var base = kind + "_"
        for scalar in name.unicodeScalars {
            let allowed =
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_")
            base.unicodeScalars.append(allowed ? scalar : "_")
        }
        var id = base
        var suffix = 2
        while used.contains(id) {
            id = "\(base)_\(suffix)"
            suffix += 1
        }
        used.insert(id)
        assigned[key] = id
        return id
    }
}
