/* SPDX-License-Identifier: MIT */
/*
 * Direct Linux boot: load a kernel (bzImage or ELF vmlinux), an optional
 * initrd and the command line into guest RAM, build boot_params ("zero page")
 * with the e820 map, write the GDT and identity page tables, and return the
 * CPU state for the Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst).
 *
 * Guest memory used (all addresses from vmm/layout.h):
 *   LAYOUT_GDT_ADDR          GDT (see vmm/boot_cpu.h)
 *   LAYOUT_BOOT_PARAMS_ADDR  boot_params, one page
 *   LAYOUT_PML4_ADDR ..      PML4, PDPT, 4 page directories
 *   LAYOUT_CMDLINE_ADDR      command line, NUL-terminated
 *   >= LAYOUT_KERNEL_ADDR    the kernel: a bzImage's protected-mode part at its
 *                            pref_address when that fits (else at 1 MiB), an
 *                            ELF's PT_LOAD segments at their p_paddr
 *   below the low RAM end    the initrd, page-aligned, as high as allowed
 * The ACPI tables at LAYOUT_ACPI_ADDR are the caller's; they are only
 * referenced (acpi_rsdp_addr) and covered by a reserved e820 range.
 *
 * Errors: every function that takes `char *err, size_t errlen` returns 0 or a
 * negative errno and, on failure, writes one line without a trailing newline
 * into err (err may be NULL). The errno says which kind of failure:
 *   -ENOEXEC          not a bzImage or ELF vmlinux / ELF of the wrong kind
 *   -EPROTONOSUPPORT  bzImage boot protocol older than 2.12
 *   -ENOTSUP          bzImage without XLF_KERNEL_64 or without LOADED_HIGH
 *   -EBADMSG          inconsistent or truncated headers (setup header,
 *                     setup_sects, syssize, ELF program headers, entry point)
 *   -ENOMEM           the kernel or initrd does not fit in guest RAM
 *   -ERANGE           an ELF segment below 1 MiB (would overwrite boot structures)
 *   -E2BIG            command line longer than the kernel or layout accepts
 *   -ENOSPC           e820 map needs more than 128 entries
 *   -EINVAL           bad arguments (missing kernel path, non-regular file,
 *                     empty initrd, malformed extra e820 range)
 *   other             from open/fstat/mmap/read of the files
 * Lower-level calls give just the reason ("truncated setup header ...");
 * boot_linux_load() prefixes it with what it is about, so its err reads e.g.
 *   "kernel /x/bzImage: boot protocol 2.10 too old for 64-bit entry (need 2.12)".
 * On failure guest RAM holds partial data; the caller discards the VM.
 */
#ifndef SLUICE_VMM_BOOT_LINUX_H
#define SLUICE_VMM_BOOT_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/boot_cpu.h"
#include "vmm/boot_e820.h"
#include "vmm/bootparam.h"

struct guest_mem;

/* Size for an err buffer that never truncates a message with a long path. */
#define BOOT_ERR_MAX 512

/* ELF vmlinux: boot_params header values sluice synthesises (no setup header
 * exists in the file). */
#define BOOT_ELF_PROTOCOL_VERSION BP_VERSION_ACPI_RSDP
#define BOOT_ELF_COMMAND_LINE_SIZE 2048U /* COMMAND_LINE_SIZE, including the NUL */
#define BOOT_ELF_CMDLINE_SIZE (BOOT_ELF_COMMAND_LINE_SIZE - 1) /* cmdline_size excludes it */
#define BOOT_ELF_INITRD_ADDR_MAX 0x7fffffffU
#define BOOT_ELF_KERNEL_ALIGNMENT 0x200000U /* CONFIG_PHYSICAL_ALIGN default */

/* initrd placement granule. */
#define BOOT_INITRD_ALIGN 0x1000ULL

enum boot_kernel_format {
    BOOT_KERNEL_BZIMAGE = 1,
    BOOT_KERNEL_ELF = 2,
};

/* What a kernel load produced; input to boot_params_fill() and placement. */
struct boot_kernel_info {
    enum boot_kernel_format format;
    uint16_t version;          /* boot protocol version (ELF: BOOT_ELF_PROTOCOL_VERSION) */
    uint64_t load_addr;        /* bzImage: where the protected-mode part went;
                                  ELF: lowest PT_LOAD p_paddr */
    uint64_t load_size;        /* bzImage: bytes copied (syssize * 16) */
    uint64_t entry;            /* guest-physical 64-bit entry point */
    uint64_t footprint_start;  /* RAM the kernel uses before it reads e820 */
    uint64_t footprint_end;    /*   [start, end): bzImage includes init_size at its
                                    runtime address; the initrd stays out of it */
    uint32_t cmdline_max;      /* longest command line, NUL excluded (cmdline_size) */
    uint64_t initrd_addr_max;  /* highest byte an initrd may occupy */
    struct bp_setup_header hdr; /* setup header for boot_params (from the image,
                                   or synthesised for ELF) */
    uint32_t hdr_len;          /* bytes of hdr that are valid, from offset 0x1f1 */
};

/*
 * Detect the format of image[0..len), check it, and copy it into guest RAM.
 * Pure with respect to files: the image is a caller-owned buffer, read only.
 * Returns 0 and fills *out, or -errno with the reason in err.
 */
int boot_kernel_load(const struct guest_mem *gm, const void *image, size_t len,
                     struct boot_kernel_info *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The two formats, for callers that already know (boot_kernel_load dispatches). */
int boot_bzimage_load(const struct guest_mem *gm, const void *image, size_t len,
                      struct boot_kernel_info *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int boot_elf_load(const struct guest_mem *gm, const void *image, size_t len,
                  struct boot_kernel_info *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Pure: choose the initrd address. The initrd [addr, addr + size) is
 * page-aligned (BOOT_INITRD_ALIGN), lies in [LAYOUT_HIGH_MEM_START,
 * min(addr_max + 1, ram_end)), does not overlap [avoid_start, avoid_end), and
 * is the highest such address. Returns 0, -EINVAL (size 0) or -ENOMEM.
 */
int boot_initrd_place(uint64_t size, uint64_t addr_max, uint64_t ram_end, uint64_t avoid_start,
                      uint64_t avoid_end, uint64_t *addr) __attribute__((warn_unused_result));

/*
 * Copy `cmdline` (NULL means "") to LAYOUT_CMDLINE_ADDR, NUL-terminated.
 * Its length must be <= cmdline_max and < LAYOUT_CMDLINE_MAX, else -E2BIG.
 * *len_out (optional) gets strlen(cmdline).
 */
int boot_cmdline_write(const struct guest_mem *gm, const char *cmdline, uint32_t cmdline_max,
                       uint32_t *len_out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

struct boot_params_args {
    uint64_t cmdline_addr;     /* LAYOUT_CMDLINE_ADDR */
    uint64_t initrd_addr;      /* 0 and size 0: no initrd */
    uint64_t initrd_size;
    uint64_t acpi_rsdp_addr;   /* 0: not passed (needs protocol >= 2.14) */
};

/*
 * Pure: zero *bp and fill it for kernel `k`: the setup header (bzImage: as
 * copied from the image, up to 0x202 + the byte at 0x201; ELF: the minimal
 * synthesised one), then type_of_loader 0xff, loadflags LOADED_HIGH only,
 * vid_mode 0xffff, cmd_line_ptr/ext_cmd_line_ptr, ramdisk_image/size and the
 * ext_ halves, setup_data 0, acpi_rsdp_addr (protocol >= 2.14). The e820
 * table is left empty: fill it with boot_e820_build().
 */
void boot_params_fill(struct bp_boot_params *bp, const struct boot_kernel_info *k,
                      const struct boot_params_args *a);

struct boot_linux_config {
    const char *kernel_path;   /* required: bzImage or ELF vmlinux */
    const char *initrd_path;   /* NULL: no initrd */
    const char *cmdline;       /* NULL: empty command line */
    uint64_t acpi_rsdp_addr;   /* guest-physical RSDP, 0 if none */
    const struct boot_e820_extra *e820_extra; /* extra ranges (e.g. ECAM reserved) */
    unsigned n_e820_extra;
};

struct boot_linux_result {
    struct boot_cpu_state cpu; /* copy into kvm_regs/kvm_sregs of the boot vCPU */
    struct boot_kernel_info kernel;
    uint64_t initrd_addr;      /* 0 if none */
    uint64_t initrd_size;
    uint64_t cmdline_addr;
    uint32_t cmdline_len;      /* without the NUL */
    uint64_t boot_params_addr;
    unsigned e820_entries;
};

/*
 * Do the whole direct boot: read cfg->kernel_path (and initrd), place
 * everything in `gm` (which must be freshly created: low RAM at gpa 0 of at
 * least LAYOUT_MIN_MEMORY is expected), write boot_params, GDT and page
 * tables, and fill *out. Call after the ACPI tables are known (their RSDP
 * address is an input) and before the boot vCPU's registers are set. Files
 * are closed and unmapped before return. Returns 0 or -errno with a complete
 * one-line message ("kernel PATH: ...", "initrd PATH: ...", "cmdline: ...",
 * "e820: ...") in err.
 */
int boot_linux_load(const struct guest_mem *gm, const struct boot_linux_config *cfg,
                    struct boot_linux_result *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
