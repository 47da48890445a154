/* SPDX-License-Identifier: MIT */
/*
 * Direct Linux boot: files, command line, initrd, boot_params and the order
 * of it all. The kernel formats live in boot_bzimage.c and boot_elf.c, the
 * e820 map in boot_e820.c, the CPU environment in boot_cpu.c.
 */
#define LOG_MODULE "boot"
#include "vmm/boot_linux.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot_internal.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"
#include "vmm/log.h"

void boot_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

uint64_t boot_low_ram_end(const struct guest_mem *gm)
{
    for (unsigned i = 0; i < gm->nregions; i++)
        if (gm->regions[i].gpa == 0)
            return gm->regions[i].size;
    return 0;
}

int boot_kernel_load(const struct guest_mem *gm, const void *image, size_t len,
                     struct boot_kernel_info *out, char *err, size_t errlen)
{
    if (len >= SELFMAG && memcmp(image, ELFMAG, SELFMAG) == 0)
        return boot_elf_load(gm, image, len, out, err, errlen);
    /* Anything else gets the bzImage checks; they reject non-kernels as
     * "not a bzImage or ELF vmlinux". */
    return boot_bzimage_load(gm, image, len, out, err, errlen);
}

int boot_initrd_place(uint64_t size, uint64_t addr_max, uint64_t ram_end, uint64_t avoid_start,
                      uint64_t avoid_end, uint64_t *addr)
{
    const uint64_t floor = LAYOUT_HIGH_MEM_START;
    uint64_t limit = ram_end;
    uint64_t a;

    if (size == 0)
        return -EINVAL;
    /* initrd_addr_max is the highest address the initrd may occupy (inclusive). */
    if (addr_max < UINT64_MAX && addr_max + 1 < limit)
        limit = addr_max + 1;
    if (size > limit)
        return -ENOMEM;

    a = (limit - size) & ~(BOOT_INITRD_ALIGN - 1);
    if (a < floor)
        return -ENOMEM;
    if (a + size <= avoid_start || a >= avoid_end) {
        *addr = a;
        return 0;
    }
    /* It would overlap the kernel: the next chance is right below it. */
    if (avoid_start < size)
        return -ENOMEM;
    a = (avoid_start - size) & ~(BOOT_INITRD_ALIGN - 1);
    if (a < floor)
        return -ENOMEM;
    *addr = a;
    return 0;
}

int boot_cmdline_write(const struct guest_mem *gm, const char *cmdline, uint32_t cmdline_max,
                       uint32_t *len_out, char *err, size_t errlen)
{
    const char *s = cmdline ? cmdline : "";
    size_t len = strlen(s);
    int ret;

    if (len > cmdline_max) {
        boot_errf(err, errlen, "command line is %zu bytes, the kernel accepts at most %u", len,
                  cmdline_max);
        return -E2BIG;
    }
    if (len >= LAYOUT_CMDLINE_MAX) {
        boot_errf(err, errlen, "command line is %zu bytes, sluice accepts at most %llu", len,
                  (unsigned long long)(LAYOUT_CMDLINE_MAX - 1));
        return -E2BIG;
    }
    ret = guest_mem_write(gm, LAYOUT_CMDLINE_ADDR, s, len + 1);
    if (ret) {
        boot_errf(err, errlen, "cannot write the command line to guest RAM at 0x%llx",
                  (unsigned long long)LAYOUT_CMDLINE_ADDR);
        return ret;
    }
    if (len_out)
        *len_out = (uint32_t)len;
    return 0;
}

void boot_params_fill(struct bp_boot_params *bp, const struct boot_kernel_info *k,
                      const struct boot_params_args *a)
{
    size_t hdr_len = k->hdr_len < sizeof(bp->hdr) ? k->hdr_len : sizeof(bp->hdr);

    /* A clean page with only the setup header taken over: the sentinel at
     * 0x1ef stays 0, so the kernel trusts the fields below. */
    memset(bp, 0, sizeof(*bp));
    memcpy(&bp->hdr, &k->hdr, hdr_len);

    bp->hdr.type_of_loader = BP_LOADER_TYPE_UNDEFINED;
    /* LOADED_HIGH is all a 64-bit entry needs; QUIET/KASLR/KEEP_SEGMENTS/
     * CAN_USE_HEAP are either the kernel's own or real-mode only. */
    bp->hdr.loadflags = BP_LOADED_HIGH;
    bp->hdr.vid_mode = BP_VID_MODE_NORMAL;
    bp->hdr.cmd_line_ptr = (uint32_t)a->cmdline_addr;
    bp->ext_cmd_line_ptr = (uint32_t)(a->cmdline_addr >> BP_EXT_FIELD_SHIFT);
    bp->hdr.ramdisk_image = (uint32_t)a->initrd_addr;
    bp->ext_ramdisk_image = (uint32_t)(a->initrd_addr >> BP_EXT_FIELD_SHIFT);
    bp->hdr.ramdisk_size = (uint32_t)a->initrd_size;
    bp->ext_ramdisk_size = (uint32_t)(a->initrd_size >> BP_EXT_FIELD_SHIFT);
    bp->hdr.setup_data = 0;
    bp->hdr.hardware_subarch = BP_SUBARCH_PC;
    bp->hdr.hardware_subarch_data = 0;
    if (k->version >= BP_VERSION_ACPI_RSDP)
        bp->acpi_rsdp_addr = a->acpi_rsdp_addr;
}

/* ---- files ---- */

struct boot_file {
    int fd;
    const uint8_t *map;   /* NULL for an empty or not-mapped file */
    size_t len;
};

static int boot_file_open(const char *path, struct boot_file *f, char *err, size_t errlen)
{
    struct stat st;
    int ret;

    f->map = NULL;
    f->len = 0;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        ret = -errno;
        boot_errf(err, errlen, "cannot open: %s", strerror(-ret));
        return ret;
    }
    if (fstat(f->fd, &st) < 0) {
        ret = -errno;
        boot_errf(err, errlen, "cannot stat: %s", strerror(-ret));
        goto err_close;
    }
    if (!S_ISREG(st.st_mode)) {
        boot_errf(err, errlen, "not a regular file");
        ret = -EINVAL;
        goto err_close;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        boot_errf(err, errlen, "file too large");
        ret = -EFBIG;
        goto err_close;
    }
    f->len = (size_t)st.st_size;
    return 0;

err_close:
    close(f->fd);
    f->fd = -1;
    return ret;
}

static int boot_file_map(struct boot_file *f, char *err, size_t errlen)
{
    if (f->len == 0)
        return 0;
    void *p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (p == MAP_FAILED) {
        int ret = -errno;
        boot_errf(err, errlen, "cannot map: %s", strerror(-ret));
        return ret;
    }
    f->map = p;
    return 0;
}

static void boot_file_close(struct boot_file *f)
{
    if (f->map)
        munmap((void *)f->map, f->len);
    if (f->fd >= 0)
        close(f->fd);
    f->map = NULL;
    f->fd = -1;
}

/* Read the whole file into guest RAM at [gpa, gpa + f->len). */
static int boot_file_read_to_guest(const struct guest_mem *gm, struct boot_file *f, uint64_t gpa,
                                   char *err, size_t errlen)
{
    uint8_t *dst = guest_mem_ptr(gm, gpa, f->len);
    size_t done = 0;

    if (!dst) {
        boot_errf(err, errlen, "[0x%llx, +0x%zx) is not guest RAM", (unsigned long long)gpa,
                  f->len);
        return -EFAULT;
    }
    while (done < f->len) {
        ssize_t n = pread(f->fd, dst + done, f->len - done, (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int ret = -errno;
            boot_errf(err, errlen, "read failed: %s", strerror(-ret));
            return ret;
        }
        if (n == 0) {
            boot_errf(err, errlen, "file shrank while reading (%zu of %zu bytes)", done, f->len);
            return -EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

static int boot_load_kernel_file(const struct guest_mem *gm, const char *path,
                                 struct boot_kernel_info *k, char *err, size_t errlen)
{
    char why[BOOT_ERR_MAX] = "";
    struct boot_file f;
    int ret;

    ret = boot_file_open(path, &f, why, sizeof(why));
    if (ret)
        goto out_err;
    ret = boot_file_map(&f, why, sizeof(why));
    if (ret)
        goto out_close;
    ret = boot_kernel_load(gm, f.map, f.len, k, why, sizeof(why));

out_close:
    boot_file_close(&f);
out_err:
    if (ret)
        boot_errf(err, errlen, "kernel %s: %s", path, why);
    return ret;
}

static int boot_load_initrd_file(const struct guest_mem *gm, const char *path,
                                 const struct boot_kernel_info *k, uint64_t *addr, uint64_t *size,
                                 char *err, size_t errlen)
{
    uint64_t low_end = boot_low_ram_end(gm);
    char why[BOOT_ERR_MAX] = "";
    struct boot_file f;
    int ret;

    ret = boot_file_open(path, &f, why, sizeof(why));
    if (ret)
        goto out_err;
    if (f.len == 0) {
        boot_errf(why, sizeof(why), "empty file");
        ret = -EINVAL;
        goto out_close;
    }
    ret = boot_initrd_place(f.len, k->initrd_addr_max, low_end, k->footprint_start,
                            k->footprint_end, addr);
    if (ret) {
        boot_errf(why, sizeof(why),
                  "%zu bytes do not fit in guest RAM below 0x%llx (initrd_addr_max 0x%llx) "
                  "outside the kernel [0x%llx, 0x%llx)",
                  f.len, (unsigned long long)low_end, (unsigned long long)k->initrd_addr_max,
                  (unsigned long long)k->footprint_start, (unsigned long long)k->footprint_end);
        goto out_close;
    }
    ret = boot_file_read_to_guest(gm, &f, *addr, why, sizeof(why));
    if (ret)
        goto out_close;
    *size = f.len;

out_close:
    boot_file_close(&f);
out_err:
    if (ret)
        boot_errf(err, errlen, "initrd %s: %s", path, why);
    return ret;
}

static int boot_write_params(const struct guest_mem *gm, const struct boot_linux_config *cfg,
                             struct boot_linux_result *out, char *err, size_t errlen)
{
    struct boot_params_args args = {
        .cmdline_addr = out->cmdline_addr,
        .initrd_addr = out->initrd_addr,
        .initrd_size = out->initrd_size,
        .acpi_rsdp_addr = cfg->acpi_rsdp_addr,
    };
    struct bp_boot_params *bp;
    unsigned n;
    int ret;

    bp = malloc(sizeof(*bp));
    if (!bp) {
        boot_errf(err, errlen, "boot_params: out of memory");
        return -ENOMEM;
    }
    boot_params_fill(bp, &out->kernel, &args);
    ret = boot_e820_build(gm, cfg->e820_extra, cfg->n_e820_extra, bp->e820_table,
                          BP_E820_MAX_ENTRIES_ZEROPAGE, &n);
    if (ret) {
        if (ret == -ENOSPC)
            boot_errf(err, errlen, "e820: more than %u entries needed",
                      BP_E820_MAX_ENTRIES_ZEROPAGE);
        else if (cfg->n_e820_extra > BOOT_E820_MAX_EXTRA)
            boot_errf(err, errlen, "e820: %u extra ranges, at most %u", cfg->n_e820_extra,
                      BOOT_E820_MAX_EXTRA);
        else
            boot_errf(err, errlen, "e820: invalid extra range (empty, type 0 or wrapping)");
        goto out_free;
    }
    bp->e820_entries = (uint8_t)n;
    out->e820_entries = n;
    ret = guest_mem_write(gm, LAYOUT_BOOT_PARAMS_ADDR, bp, sizeof(*bp));
    if (ret)
        boot_errf(err, errlen, "boot_params: 0x%llx is not guest RAM",
                  (unsigned long long)LAYOUT_BOOT_PARAMS_ADDR);
    out->boot_params_addr = LAYOUT_BOOT_PARAMS_ADDR;

out_free:
    free(bp);
    return ret;
}

int boot_linux_load(const struct guest_mem *gm, const struct boot_linux_config *cfg,
                    struct boot_linux_result *out, char *err, size_t errlen)
{
    char why[BOOT_ERR_MAX] = "";
    int ret;

    memset(out, 0, sizeof(*out));
    if (!cfg->kernel_path || !*cfg->kernel_path) {
        boot_errf(err, errlen, "kernel: no kernel image given");
        return -EINVAL;
    }
    if (boot_low_ram_end(gm) <= LAYOUT_KERNEL_ADDR) {
        boot_errf(err, errlen, "kernel %s: guest has no RAM above 1 MiB", cfg->kernel_path);
        return -ENOMEM;
    }

    ret = boot_load_kernel_file(gm, cfg->kernel_path, &out->kernel, err, errlen);
    if (ret)
        return ret;

    ret = boot_cmdline_write(gm, cfg->cmdline, out->kernel.cmdline_max, &out->cmdline_len, why,
                             sizeof(why));
    if (ret) {
        boot_errf(err, errlen, "cmdline: %s", why);
        return ret;
    }
    out->cmdline_addr = LAYOUT_CMDLINE_ADDR;

    if (cfg->initrd_path) {
        ret = boot_load_initrd_file(gm, cfg->initrd_path, &out->kernel, &out->initrd_addr,
                                    &out->initrd_size, err, errlen);
        if (ret)
            return ret;
    }

    ret = boot_write_params(gm, cfg, out, err, errlen);
    if (ret)
        return ret;

    ret = boot_cpu_setup(gm, out->kernel.entry, out->boot_params_addr, &out->cpu);
    if (ret) {
        boot_errf(err, errlen, "boot: GDT/page tables at 0x%llx..0x%llx are not guest RAM",
                  (unsigned long long)LAYOUT_GDT_ADDR,
                  (unsigned long long)(LAYOUT_PD_ADDR + BOOT_IDENTITY_PDS * X86_PAGE_SIZE));
        return ret;
    }

    LOG_INFO("%s %s: protocol %u.%02u, loaded at 0x%llx, entry 0x%llx, kernel uses "
             "[0x%llx, 0x%llx)",
             out->kernel.format == BOOT_KERNEL_ELF ? "vmlinux" : "bzImage", cfg->kernel_path,
             BP_VERSION_MAJOR(out->kernel.version), BP_VERSION_MINOR(out->kernel.version),
             (unsigned long long)out->kernel.load_addr, (unsigned long long)out->kernel.entry,
             (unsigned long long)out->kernel.footprint_start,
             (unsigned long long)out->kernel.footprint_end);
    if (out->initrd_size)
        LOG_INFO("initrd %s: %llu bytes at 0x%llx", cfg->initrd_path,
                 (unsigned long long)out->initrd_size, (unsigned long long)out->initrd_addr);
    return 0;
}
