#ifndef PSPF_CRC32C_H
#define PSPF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has CRC-32C instructions (x86-64: SSE 4.2; AArch64: the CRC32 extension).
/// Checked once, at run time: the same binary runs on CPUs with and without them.
int pspf_crc32c_hardware_available(void);

/// Continues a CRC-32C (Castagnoli) over `count` bytes at `bytes` with the CPU's CRC
/// instructions: `pspf_crc32c_hardware_update(crc(a), b)` = crc(a + b), starting from 0.
/// Only call it when `pspf_crc32c_hardware_available()` returned non-zero.
uint32_t pspf_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count);

#endif
