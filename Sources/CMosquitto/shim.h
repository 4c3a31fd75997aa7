#ifndef PSPF_CMOSQUITTO_SHIM_H
#define PSPF_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/// A non-blocking, close-on-exec eventfd (the network loop's wake-up signal).
/// `eventfd` and its flags are not part of Swift's Glibc module.
static inline int pspf_eventfd_nonblocking(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/// Names the calling thread (shown by top -H, gdb, /proc/PID/task/TID/comm); `prctl` is
/// variadic, which Swift cannot call.
static inline void pspf_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, name, 0, 0, 0);
}
#endif
