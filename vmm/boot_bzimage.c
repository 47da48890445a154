/* SPDX-License-Identifier: MIT */
/*
 * bzImage: check the real-mode kernel header (boot.rst "THE REAL-MODE KERNEL
 * HEADER", "LOADING THE REST OF THE KERNEL") and copy the protected-mode part
 * into guest RAM for a 64-bit entry.
 */
#define LOG_MODULE "boot"
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/boot_internal.h"
#include "vmm/boot_linux.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

static uint16_t get_le16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Round up to a power-of-two alignment; saturates instead of wrapping. */
static uint64_t align_up_pow2(uint64_t x, uint64_t align)
{
    if (x > UINT64_MAX - (align - 1))
        return UINT64_MAX & ~(align - 1);
    return (x + align - 1) & ~(align - 1);
}

static int bzimage_check_header(const uint8_t *img, size_t len, struct boot_kernel_info *out,
                                char *err, size_t errlen)
{
    if (len < BP_BOOT_FLAG_OFFSET + sizeof(uint16_t) ||
        get_le16(img + BP_BOOT_FLAG_OFFSET) != BP_BOOT_FLAG_MAGIC) {
        boot_errf(err, errlen, "not a bzImage or ELF vmlinux");
        return -ENOEXEC;
    }
    if (len < BP_HEADER_MAGIC_OFFSET + sizeof(uint32_t)) {
        boot_errf(err, errlen, "truncated setup header (file is only %zu bytes)", len);
        return -EBADMSG;
    }
    if (get_le32(img + BP_HEADER_MAGIC_OFFSET) != BP_HEADER_MAGIC) {
        /* A boot sector without "HdrS": pre-2.00 zImage or something else. */
        boot_errf(err, errlen, "not a bzImage or ELF vmlinux");
        return -ENOEXEC;
    }

    /* The header runs from 0x1f1 to 0x202 + the jump displacement. */
    size_t hdr_end = BP_HEADER_MAGIC_OFFSET + img[BP_JUMP_DISP_OFFSET];
    if (hdr_end < BP_VERSION_OFFSET + sizeof(uint16_t)) {
        boot_errf(err, errlen, "truncated setup header (ends at 0x%zx, before the version field)",
                  hdr_end);
        return -EBADMSG;
    }
    if (len < hdr_end) {
        boot_errf(err, errlen, "truncated setup header (ends at 0x%zx, file is %zu bytes)",
                  hdr_end, len);
        return -EBADMSG;
    }

    uint16_t version = get_le16(img + BP_VERSION_OFFSET);
    if (version < BP_VERSION_MIN_64BIT) {
        boot_errf(err, errlen, "boot protocol %u.%02u too old for 64-bit entry (need %u.%02u)",
                  BP_VERSION_MAJOR(version), BP_VERSION_MINOR(version),
                  BP_VERSION_MAJOR(BP_VERSION_MIN_64BIT), BP_VERSION_MINOR(BP_VERSION_MIN_64BIT));
        return -EPROTONOSUPPORT;
    }
    if (hdr_end < BP_SETUP_HEADER_MIN_END) {
        boot_errf(err, errlen,
                  "truncated setup header (ends at 0x%zx, protocol %u.%02u needs up to 0x%zx)",
                  hdr_end, BP_VERSION_MAJOR(version), BP_VERSION_MINOR(version),
                  (size_t)BP_SETUP_HEADER_MIN_END);
        return -EBADMSG;
    }

    /* Keep the header bytes the image has; a longer future header is cut at
     * the end of our struct (the fields past it are not ours to interpret). */
    size_t copy_end = hdr_end < BP_SETUP_HEADER_OFFSET + sizeof(out->hdr)
                          ? hdr_end
                          : BP_SETUP_HEADER_OFFSET + sizeof(out->hdr);
    memset(&out->hdr, 0, sizeof(out->hdr));
    memcpy(&out->hdr, img + BP_SETUP_HEADER_OFFSET, copy_end - BP_SETUP_HEADER_OFFSET);
    out->hdr_len = (uint32_t)(copy_end - BP_SETUP_HEADER_OFFSET);
    out->version = version;

    if (!(out->hdr.xloadflags & BP_XLF_KERNEL_64)) {
        boot_errf(err, errlen, "no 64-bit entry point (XLF_KERNEL_64 not set in xloadflags 0x%x)",
                  out->hdr.xloadflags);
        return -ENOTSUP;
    }
    if (!(out->hdr.loadflags & BP_LOADED_HIGH)) {
        boot_errf(err, errlen, "a zImage (LOADED_HIGH not set in loadflags), need a bzImage");
        return -ENOTSUP;
    }
    return 0;
}

/*
 * Where the protected-mode part goes. Loaded at pref_address the kernel
 * decompresses in place, using [pref, pref + init_size). Loaded anywhere else
 * a relocatable kernel runs at max(align_up(load, kernel_alignment),
 * pref_address) (arch/x86/boot/compressed/head_64.S never goes below
 * LOAD_PHYSICAL_ADDR, which pref_address holds), so the footprint reaches
 * from the load address to that runtime address + init_size.
 */
static int bzimage_place(const struct guest_mem *gm, struct boot_kernel_info *out,
                         uint64_t payload, char *err, size_t errlen)
{
    const struct bp_setup_header *h = &out->hdr;
    uint64_t low_end = boot_low_ram_end(gm);
    uint64_t pref = h->pref_address;
    uint64_t align = h->kernel_alignment;
    uint64_t need = max_u64(h->init_size, payload);
    bool relocatable = h->relocatable_kernel != 0;

    if (relocatable && (align == 0 || (align & (align - 1)) != 0)) {
        boot_errf(err, errlen, "kernel_alignment 0x%llx is not a power of two",
                  (unsigned long long)align);
        return -EBADMSG;
    }

    if (pref >= LAYOUT_KERNEL_ADDR && (!relocatable || (pref & (align - 1)) == 0) &&
        need <= low_end && pref <= low_end - need) {
        out->load_addr = pref;
        out->footprint_start = pref;
        out->footprint_end = pref + need;
        return 0;
    }
    if (!relocatable) {
        if (pref < LAYOUT_KERNEL_ADDR) {
            boot_errf(err, errlen,
                      "non-relocatable kernel wants pref_address 0x%llx, below 0x%llx",
                      (unsigned long long)pref, (unsigned long long)LAYOUT_KERNEL_ADDR);
            return -EBADMSG;
        }
        boot_errf(err, errlen,
                  "non-relocatable kernel needs RAM [0x%llx, 0x%llx + init_size 0x%llx), "
                  "guest RAM below 4 GiB ends at 0x%llx",
                  (unsigned long long)pref, (unsigned long long)pref, (unsigned long long)need,
                  (unsigned long long)low_end);
        return -ENOMEM;
    }

    uint64_t load = LAYOUT_KERNEL_ADDR;
    uint64_t runtime = max_u64(align_up_pow2(load, align), pref);
    if (payload > low_end || load > low_end - payload || runtime > low_end ||
        h->init_size > low_end - runtime) {
        boot_errf(err, errlen,
                  "kernel needs RAM up to 0x%llx + init_size 0x%x, guest RAM below 4 GiB ends "
                  "at 0x%llx",
                  (unsigned long long)runtime, h->init_size, (unsigned long long)low_end);
        return -ENOMEM;
    }
    out->load_addr = load;
    out->footprint_start = load;
    out->footprint_end = max_u64(load + payload, runtime + h->init_size);
    return 0;
}

int boot_bzimage_load(const struct guest_mem *gm, const void *image, size_t len,
                      struct boot_kernel_info *out, char *err, size_t errlen)
{
    const uint8_t *img = image;
    int ret;

    memset(out, 0, sizeof(*out));
    out->format = BOOT_KERNEL_BZIMAGE;
    ret = bzimage_check_header(img, len, out, err, errlen);
    if (ret)
        return ret;

    unsigned setup_sects = out->hdr.setup_sects ? out->hdr.setup_sects : BP_SETUP_SECTS_DEFAULT;
    size_t setup_size = ((size_t)setup_sects + 1) * BP_SECTOR_SIZE;
    if (setup_size >= len) {
        boot_errf(err, errlen,
                  "setup_sects %u points past end of file (setup is %zu bytes, file %zu)",
                  out->hdr.setup_sects, setup_size, len);
        return -EBADMSG;
    }
    if (out->hdr.syssize == 0) {
        boot_errf(err, errlen, "setup header syssize is 0 (no protected-mode code)");
        return -EBADMSG;
    }
    uint64_t payload = (uint64_t)out->hdr.syssize * BP_SYSSIZE_UNIT;
    if (payload <= BP_STARTUP_64_OFFSET) {
        boot_errf(err, errlen,
                  "protected-mode code is %llu bytes: too small to hold the 64-bit entry at +0x%x",
                  (unsigned long long)payload, (unsigned)BP_STARTUP_64_OFFSET);
        return -EBADMSG;
    }
    if (payload > len - setup_size) {
        boot_errf(err, errlen,
                  "truncated file (syssize says %llu bytes of protected-mode code, file has %zu)",
                  (unsigned long long)payload, len - setup_size);
        return -EBADMSG;
    }

    ret = bzimage_place(gm, out, payload, err, errlen);
    if (ret)
        return ret;

    ret = guest_mem_write(gm, out->load_addr, img + setup_size, payload);
    if (ret) {
        boot_errf(err, errlen, "cannot write kernel to guest RAM at 0x%llx",
                  (unsigned long long)out->load_addr);
        return ret;
    }
    out->load_size = payload;
    out->entry = out->load_addr + BP_STARTUP_64_OFFSET;
    out->cmdline_max = out->hdr.cmdline_size;
    out->initrd_addr_max =
        out->hdr.initrd_addr_max ? out->hdr.initrd_addr_max : BP_INITRD_ADDR_MAX_DEFAULT;
    return 0;
}
