#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, throwing wrappers over the POSIX calls the log uses. Every call retries on `EINTR`
/// and reports failures as ``LogError`` with the path and `errno`.
enum FileSystem {
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw LogError.io("open", path: path, errno: errno)
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Reads up to `count` bytes at `offset`; returns fewer only at end of file.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, at offset: Int, path: String) throws -> Int {
        var done = 0
        while done < count {
            let n = Glibc.pread(fd, buffer + done, count - done, off_t(offset + done))
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw LogError.io("pread", path: path, errno: errno)
            }
        }
        return done
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, buffer + done, count - done)
            if n >= 0 {
                done += n
            } else if errno != EINTR {
                throw LogError.io("write", path: path, errno: errno)
            }
        }
    }

    static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, at offset: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = Glibc.pwrite(fd, buffer + done, count - done, off_t(offset + done))
            if n >= 0 {
                done += n
            } else if errno != EINTR {
                throw LogError.io("pwrite", path: path, errno: errno)
            }
        }
    }

    static func datasync(_ fd: Int32, path: String) throws {
        while fdatasync(fd) != 0 {
            if errno != EINTR { throw LogError.io("fdatasync", path: path, errno: errno) }
        }
    }

    static func fullsync(_ fd: Int32, path: String) throws {
        while fsync(fd) != 0 {
            if errno != EINTR { throw LogError.io("fsync", path: path, errno: errno) }
        }
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno != EINTR { throw LogError.io("ftruncate", path: path, errno: errno) }
        }
    }

    static func size(_ fd: Int32, path: String) throws -> Int {
        var st = stat()
        if fstat(fd, &st) != 0 { throw LogError.io("fstat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    /// Size of the file at `path`, or nil if it does not exist.
    static func size(atPath path: String) throws -> Int? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw LogError.io("stat", path: path, errno: errno)
        }
        return Int(st.st_size)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Fsyncs a directory so that created, renamed and deleted entries are durable.
    static func syncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fullsync(fd, path: path)
    }

    /// Creates `path` and missing parents; returns whether anything was created.
    @discardableResult
    static func makeDirectories(_ path: String) throws -> Bool {
        if isDirectory(path) { return false }
        let parent = parentDirectory(path)
        if parent != path, !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw LogError.io("mkdir", path: path, errno: errno)
        }
        return true
    }

    static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// Names in a directory, without `.` and `..`, sorted.
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw LogError.io("opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func remove(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT { throw LogError.io("unlink", path: path, errno: errno) }
    }

    static func removeDirectory(_ path: String) throws {
        if rmdir(path) != 0, errno != ENOENT { throw LogError.io("rmdir", path: path, errno: errno) }
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw LogError.io("rename to \(to)", path: from, errno: errno) }
    }

    /// Writes `bytes` to `path` atomically and durably: temp file, fsync, rename, fsync directory.
    static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let temp = path + ".tmp"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            if let base = bytes.baseAddress, bytes.count > 0 { try writeAll(fd, base, bytes.count, path: temp) }
            try fullsync(fd, path: temp)
        } catch {
            close(fd)
            try? remove(temp)
            throw error
        }
        close(fd)
        try rename(temp, path)
        try syncDirectory(parentDirectory(path))
    }

    /// Reads a whole (small) file.
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let size = try size(fd, path: path)
        if size == 0 { return [] }
        var bytes = [UInt8](repeating: 0, count: size)
        let n = try bytes.withUnsafeMutableBytes { try pread(fd, $0.baseAddress!, size, at: 0, path: path) }
        bytes.removeLast(size - n)
        return bytes
    }
}
