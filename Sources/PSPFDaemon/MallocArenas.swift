#if canImport(Glibc)
import Glibc
#endif

/// glibc's allocator gives threads that contend on the heap their own arenas, up to eight per
/// core, and every arena keeps its own free memory. The daemon's dozen threads (network loops,
/// log writers, the cooperative pool) spread their allocations over several arenas that are
/// each partly empty: capping them at the number of cores (at least two) measured 2–2.5 MiB
/// less RSS with 10k devices, at no measurable cost in throughput (docs/benchmarks.md).
///
/// `MALLOC_ARENA_MAX` in the environment wins over this (glibc reads it at start-up).
public enum MallocArenas {
    /// Caps the arenas; call before the daemon starts its threads. Returns whether the cap was
    /// set (false: `MALLOC_ARENA_MAX` is set, or not glibc).
    @discardableResult
    public static func limitToCores() -> Bool {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil,
            let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt")  // RTLD_DEFAULT
        else { return false }
        // <malloc.h> is not part of the Glibc module; `mallopt` and `M_ARENA_MAX` (-8) are
        // stable glibc ABI.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return mallopt(-8, Int32(max(2, cores))) == 1  // mallopt returns 1 on success
        #else
        return false
        #endif
    }
}
