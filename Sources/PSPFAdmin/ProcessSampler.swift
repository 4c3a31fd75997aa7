#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Samples this process from `/proc/self`: resident memory (`statm`), CPU time (`stat`,
/// utime + stime in clock ticks) and open file descriptors (`fd/`). It runs once per scrape or
/// `/status` request, so it reads with plain syscalls into a small buffer and parses the
/// digits by hand. Elsewhere than Linux, or when `/proc` is unreadable, the figures are 0.
///
/// ```swift
/// let process = ProcessSampler.sample()
/// print(process.residentBytes, process.cpuSeconds, process.openFiles)
/// ```
public enum ProcessSampler {
    public static func sample() -> ProcessStatus {
        ProcessStatus(residentBytes: residentBytes(), cpuSeconds: cpuSeconds(), openFiles: openFiles())
    }

    /// `statm` field 2 (resident pages) × the page size.
    static func residentBytes() -> Int64 {
        guard let text = readFile("/proc/self/statm") else { return 0 }
        let fields = parseFields(text[...])
        guard fields.count > 1 else { return 0 }
        return fields[1] * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// `stat` fields 14 and 15 (utime, stime) over `sysconf(_SC_CLK_TCK)`.
    static func cpuSeconds() -> Double {
        guard let text = readFile("/proc/self/stat"), let ticks = cpuTicks(statLine: text) else { return 0 }
        let perSecond = sysconf(Int32(_SC_CLK_TCK))
        return perSecond > 0 ? Double(ticks) / Double(perSecond) : 0
    }

    /// utime + stime from a `/proc/<pid>/stat` line. The command name (field 2) is in
    /// parentheses and may hold spaces or parentheses, so the fields are counted from the last `)`.
    static func cpuTicks(statLine: [UInt8]) -> Int64? {
        guard let close = statLine.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // After ")": field 3 (state) is a letter, not a number; count words instead of numbers.
        var field = 2
        var index = close + 1
        var utime: Int64?
        while index < statLine.count {
            while index < statLine.count, statLine[index] == UInt8(ascii: " ") { index += 1 }
            guard index < statLine.count else { break }
            field += 1
            var value: Int64 = 0
            var numeric = true
            while index < statLine.count, statLine[index] != UInt8(ascii: " "), statLine[index] != UInt8(ascii: "\n") {
                let byte = statLine[index]
                if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    value = value &* 10 &+ Int64(byte - UInt8(ascii: "0"))
                } else {
                    numeric = false
                }
                index += 1
            }
            if statLine.count > index, statLine[index] == UInt8(ascii: "\n") { index += 1 }
            if field == 14 { utime = numeric ? value : nil }
            if field == 15 {
                guard let utime, numeric else { return nil }
                return utime + value
            }
        }
        return nil
    }

    /// Entries of `/proc/self/fd`, not counting the directory stream's own descriptor.
    static func openFiles() -> Int64 {
        #if os(Linux)
            guard let directory = opendir("/proc/self/fd") else { return 0 }
            defer { closedir(directory) }
            var count: Int64 = 0
            while let entry = readdir(directory) {
                let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                    name[0] == UInt8(ascii: ".")
                }
                if !isDot { count += 1 }
            }
            return max(count - 1, 0)
        #else
            return 0
        #endif
    }

    /// Space-separated unsigned decimal numbers.
    static func parseFields(_ text: ArraySlice<UInt8>) -> [Int64] {
        var fields: [Int64] = []
        var current: Int64?
        for byte in text {
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                current = (current ?? 0) &* 10 &+ Int64(byte - UInt8(ascii: "0"))
            } else if let value = current {
                fields.append(value)
                current = nil
            }
        }
        if let current { fields.append(current) }
        return fields
    }

    /// A small /proc file in one go (they are generated, a few hundred bytes).
    private static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1024)
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: bytes.count)) }
            let n = bytes.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            filled += n
        }
        return Array(bytes[..<filled])
    }
}
