/// The location of one field in a JSON document: a sequence of object member names from the top-level object.
///
/// Written as a dotted string; each component names a member of the object reached so far:
///
/// ```swift
/// let device: JSONFieldPath = "device"        // {"device": …}
/// let site = JSONFieldPath("meta.site")       // {"meta": {"site": …}}
/// let odd = JSONFieldPath(components: ["a.b"]) // {"a.b": …}: a name that contains a dot
/// ```
///
/// Names are compared with the document's member names after unescaping, code unit by code unit
/// (RFC 8259 §8.3): `"d\u0065vice"` matches `device`, but no Unicode normalisation is applied.
/// Array elements cannot be addressed.
public struct JSONFieldPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The member names, outermost first. Never empty.
    public let components: [String]

    /// A path from explicit member names; use this when a name contains a dot.
    public init(components: [String]) {
        precondition(!components.isEmpty, "a JSONFieldPath needs at least one component")
        self.components = components
    }

    /// A path from a dotted string: `"meta.site"` is `["meta", "site"]`. Every dot separates two
    /// components (so `""` is the single empty name and `"a..b"` is `["a", "", "b"]`).
    public init(_ dotted: String) {
        self.components = dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// The dotted form, e.g. `meta.site`.
    public var description: String { components.joined(separator: ".") }
}
