/// The single-pass scanner behind ``JSONValidator``, ``JSONFieldExtractor`` and ``JSONValue``.
///
/// It walks the bytes once with a raw pointer, checks every byte against the RFC 8259 grammar and,
/// while inside objects that a ``JSONFieldProgram`` tracks, matches member names and records the
/// values of configured fields. Containers are handled iteratively (a bit per level says array or
/// object), so deep documents cannot overflow the call stack.
struct JSONScanner {
    let start: UnsafePointer<UInt8>
    let end: UnsafePointer<UInt8>
    var p: UnsafePointer<UInt8>

    /// `nil` for an empty buffer.
    init?(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return nil }
        start = base.assumingMemoryBound(to: UInt8.self)
        end = start + buffer.count
        p = start
    }

    @inline(__always)
    func error(_ code: JSONError.Code, _ reason: StaticString) -> JSONError {
        JSONError(code: code, offset: p - start, found: p < end ? p.pointee : nil, reason: reason)
    }

    @inline(__always)
    func error(_ code: JSONError.Code, at position: UnsafePointer<UInt8>, _ reason: StaticString) -> JSONError {
        JSONError(code: code, offset: position - start, found: position < end ? position.pointee : nil, reason: reason)
    }

    /// Skips space, tab, line feed and carriage return — the only whitespace RFC 8259 allows.
    @inline(__always)
    mutating func skipWhitespace() {
        while p < end {
            let byte = p.pointee
            // Bits 0x20, 0x0D, 0x0A, 0x09 of a 64-bit mask.
            guard byte <= 0x20, (UInt64(1) << UInt64(byte)) & 0x1_0000_2600 != 0 else { return }
            p += 1
        }
    }

    /// One bit per open container (1 = array) for depths 1 through 512.
    struct ContainerStack {
        var bits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

        @inline(__always)
        mutating func set(depth: Int, isArray: Bool) {
            let index = depth - 1
            withUnsafeMutableBytes(of: &bits) { raw in
                let words = raw.assumingMemoryBound(to: UInt64.self)
                let bit = UInt64(1) << UInt64(index & 63)
                if isArray { words[index >> 6] |= bit } else { words[index >> 6] &= ~bit }
            }
        }

        @inline(__always)
        mutating func isArray(depth: Int) -> Bool {
            let index = depth - 1
            return withUnsafeMutableBytes(of: &bits) { raw in
                raw.assumingMemoryBound(to: UInt64.self)[index >> 6] & (UInt64(1) << UInt64(index & 63)) != 0
            }
        }
    }

    /// Validates the whole document; for the fields of `program`, writes their values to `slots`.
    ///
    /// `slots` must hold `program.slotCount` values, all reset to `.missing` by the caller.
    mutating func scanDocument(program: JSONFieldProgram, slots: UnsafeMutablePointer<JSONFieldValue>?)
        throws(JSONError)
    {
        let nodes = program.nodes.baseAddress!
        let entries = program.entries.baseAddress!
        let names = program.names.baseAddress!

        var stack = ContainerStack()
        var depth = 0
        // The innermost object whose members are matched against the program, and its depth.
        var node: Int32 = -1
        var nodeDepth = 0
        // A configured field whose value is an array or object nobody looks inside: its end is recorded
        // when the container at `leafDepth` closes.
        var leafSlot: Int32 = -1
        var leafDepth = 0
        // Where the next value goes: a slot to record it in, and the node to track it with if it is an object.
        var slot: Int32 = -1
        var child: Int32 = 0

        skipWhitespace()
        valueLoop: while true {
            guard p < end else { throw error(.unexpectedEnd, "expected a value") }
            let first = p
            switch p.pointee {
            case UInt8(ascii: "\""):
                p += 1
                let escaped = try scanString()
                if slot >= 0 {
                    slots![Int(slot)] = JSONFieldValue(
                        kind: .string, flags: escaped ? JSONFieldValue.hasEscapesFlag : 0,
                        start: first + 1 - start, end: p - 1 - start)
                }

            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let number = try scanNumber()
                // Numbers nobody extracts are only converted when they might be out of range.
                if slot >= 0 || number.mayOverflow {
                    let double = number.doubleValue(text: UnsafeRawBufferPointer(start: first, count: p - first))
                    if double.isInfinite {
                        throw error(.numberOutOfRange, at: first, "number is too large for a 64-bit float")
                    }
                    if slot >= 0 {
                        var value = JSONFieldValue(kind: .number, start: first - start, end: p - start, double: double)
                        if let integer = number.int64Value {
                            value.flags = JSONFieldValue.hasInt64Flag
                            value.storedInt64 = integer
                        }
                        slots![Int(slot)] = value
                    }
                }

            case UInt8(ascii: "{"):
                p += 1
                depth += 1
                guard depth <= JSONValidator.maximumDepth else {
                    throw error(.tooDeep, at: first, "arrays and objects nest more than 512 levels deep")
                }
                stack.set(depth: depth, isArray: false)
                if child >= 0 {
                    node = child
                    nodeDepth = depth
                    if slot >= 0 { slots![Int(slot)] = JSONFieldValue(kind: .object, start: first - start) }
                } else if slot >= 0 {
                    leafSlot = slot
                    leafDepth = depth
                    slots![Int(slot)] = JSONFieldValue(kind: .object, start: first - start)
                }
                skipWhitespace()
                if p < end && p.pointee == UInt8(ascii: "}") {
                    p += 1
                    closeContainer(&depth, &node, &nodeDepth, &leafSlot, &leafDepth, nodes, slots)
                } else {
                    try scanMemberName(
                        tracked: depth == nodeDepth ? node : -1, &slot, &child, nodes, entries, names, slots)
                    continue valueLoop
                }

            case UInt8(ascii: "["):
                p += 1
                depth += 1
                guard depth <= JSONValidator.maximumDepth else {
                    throw error(.tooDeep, at: first, "arrays and objects nest more than 512 levels deep")
                }
                stack.set(depth: depth, isArray: true)
                if slot >= 0 {
                    leafSlot = slot
                    leafDepth = depth
                    slots![Int(slot)] = JSONFieldValue(kind: .array, start: first - start)
                }
                skipWhitespace()
                if p < end && p.pointee == UInt8(ascii: "]") {
                    p += 1
                    closeContainer(&depth, &node, &nodeDepth, &leafSlot, &leafDepth, nodes, slots)
                } else {
                    slot = -1
                    child = -1
                    continue valueLoop
                }

            case UInt8(ascii: "t"):
                try scanLiteral("true")
                if slot >= 0 {
                    slots![Int(slot)] = JSONFieldValue(
                        kind: .bool, flags: JSONFieldValue.trueFlag, start: first - start, end: p - start)
                }

            case UInt8(ascii: "f"):
                try scanLiteral("false")
                if slot >= 0 { slots![Int(slot)] = JSONFieldValue(kind: .bool, start: first - start, end: p - start) }

            case UInt8(ascii: "n"):
                try scanLiteral("null")
                if slot >= 0 { slots![Int(slot)] = JSONFieldValue(kind: .null, start: first - start, end: p - start) }

            default:
                throw error(.unexpectedByte, "expected a value")
            }

            // After a value: a separator, the end of its container, or the end of the document.
            while true {
                skipWhitespace()
                if depth == 0 { break valueLoop }
                guard p < end else {
                    throw stack.isArray(depth: depth)
                        ? error(.unexpectedEnd, "expected ',' or ']' after array element")
                        : error(.unexpectedEnd, "expected ',' or '}' after object member")
                }
                let byte = p.pointee
                if stack.isArray(depth: depth) {
                    if byte == UInt8(ascii: ",") {
                        p += 1
                        skipWhitespace()
                        slot = -1
                        child = -1
                        if p < end && p.pointee == UInt8(ascii: "]") {
                            throw error(.unexpectedByte, "expected a value after ',' (trailing commas are not allowed)")
                        }
                        continue valueLoop
                    }
                    guard byte == UInt8(ascii: "]") else {
                        throw error(.unexpectedByte, "expected ',' or ']' after array element")
                    }
                } else {
                    if byte == UInt8(ascii: ",") {
                        p += 1
                        skipWhitespace()
                        if p < end && p.pointee == UInt8(ascii: "}") {
                            throw error(.unexpectedByte, "expected '\"' to begin an object key (trailing commas are not allowed)")
                        }
                        try scanMemberName(
                            tracked: depth == nodeDepth ? node : -1, &slot, &child, nodes, entries, names, slots)
                        continue valueLoop
                    }
                    guard byte == UInt8(ascii: "}") else {
                        throw error(.unexpectedByte, "expected ',' or '}' after object member")
                    }
                }
                p += 1
                closeContainer(&depth, &node, &nodeDepth, &leafSlot, &leafDepth, nodes, slots)
            }
        }
        if p != end {
            throw error(.trailingContent, "expected only whitespace after the top-level value")
        }
    }

    /// Closes the container at `depth` (its closing byte is just before `p`).
    @inline(__always)
    func closeContainer(
        _ depth: inout Int, _ node: inout Int32, _ nodeDepth: inout Int, _ leafSlot: inout Int32,
        _ leafDepth: inout Int, _ nodes: UnsafeMutablePointer<JSONFieldProgram.Node>,
        _ slots: UnsafeMutablePointer<JSONFieldValue>?
    ) {
        if depth == nodeDepth {
            let closed = nodes[Int(node)]
            if closed.slot >= 0 { slots![Int(closed.slot)].end = p - start }
            node = closed.parent
            nodeDepth = node >= 0 ? depth - 1 : 0
        } else if depth == leafDepth {
            slots![Int(leafSlot)].end = p - start
            leafSlot = -1
            leafDepth = 0
        }
        depth -= 1
    }

    /// Scans `"name"` `:` and the whitespace after it. If the enclosing object is `tracked` (a node index)
    /// and the name is one of its entries, sets `slot` and `child` for the value that follows.
    @inline(__always)
    mutating func scanMemberName(
        tracked: Int32, _ slot: inout Int32, _ child: inout Int32,
        _ nodes: UnsafeMutablePointer<JSONFieldProgram.Node>,
        _ entries: UnsafeMutablePointer<JSONFieldProgram.Entry>, _ names: UnsafeMutablePointer<UInt8>,
        _ slots: UnsafeMutablePointer<JSONFieldValue>?
    ) throws(JSONError) {
        guard p < end else { throw error(.unexpectedEnd, "expected '\"' to begin an object key") }
        guard p.pointee == UInt8(ascii: "\"") else {
            throw error(.unexpectedByte, "expected '\"' to begin an object key")
        }
        p += 1
        let nameStart = p
        let escaped = try scanString()
        slot = -1
        child = -1
        if tracked >= 0 {
            let trackedNode = nodes[Int(tracked)]
            let count = p - 1 - nameStart
            var index = Int(trackedNode.firstEntry)
            let last = index + Int(trackedNode.entryCount)
            while index < last {
                let entry = entries[index]
                let candidate = UnsafeRawBufferPointer(start: names + Int(entry.nameStart), count: Int(entry.nameCount))
                let matches =
                    escaped
                    ? JSONString.escapedEquals(UnsafeRawBufferPointer(start: nameStart, count: count), candidate)
                    : (Int(entry.nameCount) == count && (count == 0 || memoryEqual(nameStart, names + Int(entry.nameStart), count)))
                if matches {
                    slot = entry.slot
                    child = entry.child
                    // A repeated name replaces the earlier value entirely (the last one wins), so forget
                    // what the earlier occurrence filled in below it.
                    var reset = Int(entry.resetStart)
                    while reset < Int(entry.resetEnd) {
                        slots![reset] = JSONFieldValue(kind: .missing)
                        reset += 1
                    }
                    break
                }
                index += 1
            }
        }
        skipWhitespace()
        guard p < end else { throw error(.unexpectedEnd, "expected ':' after object key") }
        guard p.pointee == UInt8(ascii: ":") else { throw error(.unexpectedByte, "expected ':' after object key") }
        p += 1
        skipWhitespace()
    }

    @inline(__always)
    mutating func scanLiteral(_ literal: StaticString) throws(JSONError) {
        let bytes = literal.utf8Start
        for index in 0..<literal.utf8CodeUnitCount {
            guard p < end else { throw error(.unexpectedEnd, "expected 'true', 'false' or 'null'") }
            guard p.pointee == bytes[index] else { throw error(.unexpectedByte, "expected 'true', 'false' or 'null'") }
            p += 1
        }
    }
}

@inline(__always)
func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var index = 0
    while index < count {
        if a[index] != b[index] { return false }
        index += 1
    }
    return true
}
