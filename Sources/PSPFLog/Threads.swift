#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The log's own threads (the topic writers and their fsync helpers): plain pthreads, since they
// block in system calls and must not occupy the Swift cooperative pool.
/// Names the calling thread (15 bytes at most; shown by `top -H`, `perf`, gdb and
/// /proc/PID/task/TID/comm). Threads created from the cooperative pool otherwise inherit a pool
/// thread's name, which made the log's writer look like Swift tasks in profiles.
func nameCurrentThread(_ name: String) {
    #if os(Linux)
    // pthread_setname_np and prctl are not callable from Swift's Glibc module; the kernel takes
    // the same name from /proc/thread-self/comm.
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    #endif
}

/// The `errno`-style code `pthread_create` returned.
struct ThreadStartError: Error { let value: Int32 }

/// Starts a joinable pthread (not a cooperative-pool thread: the log's threads block in system
/// calls) that runs `body`; the caller joins it.
func startJoinableThread(_ body: @escaping () -> Void) -> Result<pthread_t, ThreadStartError> {
    final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }
    var thread = pthread_t()
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    let rc = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    guard rc == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        return .failure(ThreadStartError(value: rc))
    }
    return .success(thread)
}
