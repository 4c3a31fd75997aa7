/// The compiled form of a list of ``JSONFieldPath``s: a trie of member names that the scanner walks
/// while it validates a document.
///
/// Every distinct path gets a *slot* in ``JSONFieldValues``. Slots are numbered depth-first, so the
/// slots below one member form a contiguous range: when a duplicate member name replaces an object,
/// the scanner resets that range to `missing` before filling it again (the last occurrence wins).
///
/// Immutable after `init`; the buffers are allocated once and freed in `deinit`, which is why the
/// class can be `@unchecked Sendable`.
final class JSONFieldProgram: @unchecked Sendable {
    /// An object level of the trie.
    struct Node {
        /// First entry of this node in `entries`.
        var firstEntry: Int32
        var entryCount: Int32
        /// The node of the enclosing object, or -1 for the root (the top-level object).
        var parent: Int32
        /// The slot that records this object itself (a configured path ending here), or -1.
        var slot: Int32
    }

    /// One member name of a node.
    struct Entry {
        var nameStart: Int32
        var nameCount: Int32
        /// The slot filled by this member's value, or -1 if only deeper paths go through it.
        var slot: Int32
        /// The node for this member's value when it is an object, or -1.
        var child: Int32
        /// Slots below `child`, reset to `missing` each time the member is seen.
        var resetStart: Int32
        var resetEnd: Int32
    }

    let nodes: UnsafeMutableBufferPointer<Node>
    let entries: UnsafeMutableBufferPointer<Entry>
    let names: UnsafeMutableBufferPointer<UInt8>
    /// For each configured field (in the order given), its slot. Duplicate paths share a slot.
    let slotOfField: [Int]
    let slotCount: Int

    /// A program that extracts nothing: the validator.
    static let empty = JSONFieldProgram(fields: [])

    init(fields: [JSONFieldPath]) {
        struct TrieEntry {
            var name: [UInt8]
            var isField = false
            var child: Int?
        }
        var trie: [[TrieEntry]] = [[]]
        var location: [(node: Int, entry: Int)] = []
        for path in fields {
            var node = 0
            for (depth, component) in path.components.enumerated() {
                let name = Array(component.utf8)
                let entry: Int
                if let existing = trie[node].firstIndex(where: { $0.name == name }) {
                    entry = existing
                } else {
                    trie[node].append(TrieEntry(name: name))
                    entry = trie[node].count - 1
                }
                if depth == path.components.count - 1 {
                    trie[node][entry].isField = true
                    location.append((node, entry))
                } else {
                    if trie[node][entry].child == nil {
                        trie.append([])
                        trie[node][entry].child = trie.count - 1
                    }
                    node = trie[node][entry].child!
                }
            }
        }

        // Slots depth-first so that each subtree's slots are contiguous.
        var slots = trie.map { [Int32](repeating: -1, count: $0.count) }
        var resets = trie.map { [(Int32, Int32)](repeating: (0, 0), count: $0.count) }
        var parents = [Int32](repeating: -1, count: trie.count)
        var nodeSlots = [Int32](repeating: -1, count: trie.count)
        var next: Int32 = 0
        func visit(_ node: Int) {
            for index in trie[node].indices {
                if trie[node][index].isField {
                    slots[node][index] = next
                    next += 1
                }
                if let child = trie[node][index].child {
                    parents[child] = Int32(node)
                    nodeSlots[child] = slots[node][index]
                    let start = next
                    visit(child)
                    resets[node][index] = (start, next)
                }
            }
        }
        visit(0)

        let entryTotal = trie.reduce(0) { $0 + $1.count }
        let nameTotal = trie.reduce(0) { $0 + $1.reduce(0) { $0 + $1.name.count } }
        nodes = .allocate(capacity: trie.count)
        entries = .allocate(capacity: max(entryTotal, 1))
        names = .allocate(capacity: max(nameTotal, 1))
        var entryCursor = 0
        var nameCursor = 0
        for node in trie.indices {
            nodes[node] = Node(
                firstEntry: Int32(entryCursor), entryCount: Int32(trie[node].count),
                parent: parents[node], slot: nodeSlots[node])
            for (index, entry) in trie[node].enumerated() {
                for (offset, byte) in entry.name.enumerated() { names[nameCursor + offset] = byte }
                entries[entryCursor] = Entry(
                    nameStart: Int32(nameCursor), nameCount: Int32(entry.name.count),
                    slot: slots[node][index], child: Int32(entry.child ?? -1),
                    resetStart: resets[node][index].0, resetEnd: resets[node][index].1)
                entryCursor += 1
                nameCursor += entry.name.count
            }
        }
        slotOfField = location.map { Int(slots[$0.node][$0.entry]) }
        slotCount = Int(next)
    }

    deinit {
        nodes.deallocate()
        entries.deallocate()
        names.deallocate()
    }
}
