/// Where a topic's files live (see `docs/log-format.md`, "Directory layout"):
///
/// ```
/// <root>/<topic>/topic.meta            partition count and format version
/// <root>/<topic>/lock                  flock'd by the process that has the topic open for writing
/// <root>/<topic>/p<N>/<base>.log       segment: frames, base = offset of its first record, 20 digits
/// <root>/<topic>/p<N>/<base>.index     sparse index of that segment
/// <root>/<topic>/groups/<group>.offsets  committed offsets of one consumer group
/// ```
struct TopicLayout: Sendable {
    let directory: String

    var metaPath: String { directory + "/topic.meta" }
    var lockPath: String { directory + "/lock" }
    var groupsDirectory: String { directory + "/groups" }

    func partitionDirectory(_ partition: Int) -> String { directory + "/p\(partition)" }

    func groupPath(_ group: String) -> String { groupsDirectory + "/" + group + ".offsets" }

    static func segmentName(_ baseOffset: Int64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    static func logPath(_ partitionDirectory: String, _ baseOffset: Int64) -> String {
        partitionDirectory + "/" + segmentName(baseOffset) + ".log"
    }

    static func indexPath(_ partitionDirectory: String, _ baseOffset: Int64) -> String {
        partitionDirectory + "/" + segmentName(baseOffset) + ".index"
    }

    /// Base offsets of the `.log` files in a partition directory, ascending, and the names of
    /// other files found there.
    static func segmentFiles(in partitionDirectory: String) throws -> (logs: [Int64], indexes: Set<Int64>, others: [String]) {
        var logs: [Int64] = []
        var indexes: Set<Int64> = []
        var others: [String] = []
        for name in try FileSystem.list(partitionDirectory) {
            if name.hasSuffix(".log"), let base = parseBase(name.dropLast(4)) {
                logs.append(base)
            } else if name.hasSuffix(".index"), let base = parseBase(name.dropLast(6)) {
                indexes.insert(base)
            } else {
                others.append(name)
            }
        }
        return (logs.sorted(), indexes, others)
    }

    private static func parseBase(_ text: Substring) -> Int64? {
        guard text.count == 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    /// Topic and group names: 1…200 of `[A-Za-z0-9._-]`, not starting with a dot.
    static func isValidName(_ name: String) -> Bool {
        guard (1...200).contains(name.utf8.count), name.utf8.first != UInt8(ascii: ".") else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}

/// The `topic.meta` file: two text lines, `pspf-log-topic 1` and `partitions <N>`.
struct TopicMeta: Equatable {
    static let formatVersion = 1
    var partitions: Int

    func encoded() -> [UInt8] {
        Array("pspf-log-topic \(Self.formatVersion)\npartitions \(partitions)\n".utf8)
    }

    static func read(_ path: String) throws -> TopicMeta {
        let text = String(decoding: try FileSystem.readAll(path), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count >= 2, lines[0] == "pspf-log-topic \(formatVersion)",
              lines[1].hasPrefix("partitions "), let count = Int(lines[1].dropFirst("partitions ".count)),
              count >= 1
        else {
            throw LogError(.corrupt, "not a PSPF log topic (expected 'pspf-log-topic 1' and 'partitions N')", path: path)
        }
        return TopicMeta(partitions: count)
    }
}
