import Testing

@testable import PSPFDaemon

#if canImport(Glibc)
import Glibc
#endif

/// The malloc arena cap: glibc's `mallopt` is found and accepts it, and `MALLOC_ARENA_MAX` in the
/// environment is left to win. (The memory it saves is measured by `pspf bench e2e --runs rss`.)
struct MallocArenasTests {
    @Test func capsTheArenasUnlessTheEnvironmentAlreadyDoes() {
        #if canImport(Glibc)
        let preset = getenv("MALLOC_ARENA_MAX").map { String(cString: $0) }
        setenv("MALLOC_ARENA_MAX", "4", 1)
        #expect(MallocArenas.limitToCores() == false)
        unsetenv("MALLOC_ARENA_MAX")
        #expect(MallocArenas.limitToCores() == true)
        if let preset { setenv("MALLOC_ARENA_MAX", preset, 1) }
        #endif
    }
}
