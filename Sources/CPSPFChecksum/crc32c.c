// CRC-32C with the CPU's CRC instructions, eight bytes per instruction. The portable
// slice-by-8 fallback stays in Swift (PSPFLog's CRC32C); Swift cannot name these intrinsics.
#include "pspf_crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int pspf_crc32c_hardware_available(void) {
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
uint32_t pspf_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t c = ~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);  // unaligned load
        c = _mm_crc32_u64(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = _mm_crc32_u8(c32, *p++);
        count--;
    }
    return ~c32;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#include <arm_acle.h>

#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)  // arch/arm64/include/uapi/asm/hwcap.h
#endif

int pspf_crc32c_hardware_available(void) {
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}

__attribute__((target("crc")))
uint32_t pspf_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint32_t c = ~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __crc32cd(c, word);
        p += 8;
        count -= 8;
    }
    while (count > 0) {
        c = __crc32cb(c, *p++);
        count--;
    }
    return ~c;
}

#else

int pspf_crc32c_hardware_available(void) { return 0; }

uint32_t pspf_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;  // never called: not available
}

#endif
