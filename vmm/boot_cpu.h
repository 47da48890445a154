/* SPDX-License-Identifier: MIT */
/*
 * The CPU environment of the Linux 64-bit boot protocol (boot.rst "64-bit BOOT
 * PROTOCOL"): long mode with paging on, an identity map covering the kernel,
 * boot_params and the command line, a GDT with flat 4 GiB __BOOT_CS (0x10,
 * execute/read) and __BOOT_DS (0x18, read/write), CS = __BOOT_CS, DS/ES/SS =
 * __BOOT_DS, interrupts off, %rsi = boot_params.
 *
 * The GDT sluice writes at LAYOUT_GDT_ADDR:
 *
 *   selector  descriptor
 *   0x00      null
 *   0x08      null (Linux's boot GDT leaves index 1 unused too)
 *   0x10      __BOOT_CS: 64-bit code, type 0xb (execute/read, accessed), L=1, G=1, DPL 0
 *   0x18      __BOOT_DS: data, type 0x3 (read/write, accessed), D/B=1, G=1, DPL 0
 *   0x20      TR: 16-byte 64-bit busy TSS (type 0xb), base 0, limit 0x67
 *             (VMX requires a usable TR; Linux loads its own TSS in cpu_init()
 *             long before anything could use this one: interrupts are off and
 *             the kernel stays in ring 0, so the TSS memory is never read)
 *
 * The identity map at LAYOUT_PML4_ADDR: PML4[0] -> PDPT, PDPT[0..3] -> the four
 * page directories at LAYOUT_PD_ADDR, each 512 2 MiB pages (present|rw|PS),
 * covering [0, LAYOUT_IDENTITY_MAP_SIZE). RAM above 4 GiB is not mapped; the
 * kernel builds its own page tables from e820 before touching it.
 *
 * struct boot_cpu_state is plain data with no KVM types; the KVM side copies
 * it field by field into kvm_regs / kvm_sregs.
 */
#ifndef SLUICE_VMM_BOOT_CPU_H
#define SLUICE_VMM_BOOT_CPU_H

#include <stdint.h>

#include "vmm/boot_x86.h"
#include "vmm/layout.h"

struct guest_mem;

/* Linux boot protocol selectors (arch/x86/include/asm/segment.h GDT_ENTRY_BOOT_*). */
#define BOOT_GDT_INDEX_CS 2U
#define BOOT_GDT_INDEX_DS 3U
#define BOOT_GDT_INDEX_TSS 4U                    /* 16 bytes: occupies indices 4 and 5 */
#define BOOT_GDT_ENTRIES 6U
#define BOOT_SELECTOR_CS (BOOT_GDT_INDEX_CS << X86_SELECTOR_INDEX_SHIFT)   /* __BOOT_CS 0x10 */
#define BOOT_SELECTOR_DS (BOOT_GDT_INDEX_DS << X86_SELECTOR_INDEX_SHIFT)   /* __BOOT_DS 0x18 */
#define BOOT_SELECTOR_TSS (BOOT_GDT_INDEX_TSS << X86_SELECTOR_INDEX_SHIFT) /* 0x20 */
#define BOOT_GDT_SIZE (BOOT_GDT_ENTRIES * X86_DESC_SIZE)
#define BOOT_GDT_LIMIT (BOOT_GDT_SIZE - 1)

/* The number of page directories that map LAYOUT_IDENTITY_MAP_SIZE with 2 MiB pages. */
#define BOOT_IDENTITY_PDS (LAYOUT_IDENTITY_MAP_SIZE / X86_PAGE_SIZE_1G)

/* Initial stack: the free page between boot_params and the PML4 (the stack
 * grows down from the PML4's address; nothing else lives in that page).
 * Linux sets up its own stack at entry; this only keeps an early push sane.
 * (A LAYOUT_BOOT_STACK_TOP in layout.h would be the cleaner home for this.) */
#define BOOT_STACK_TOP LAYOUT_PML4_ADDR

_Static_assert(LAYOUT_GDT_ADDR + BOOT_GDT_SIZE <= LAYOUT_BOOT_PARAMS_ADDR, "GDT fits below zero page");
_Static_assert(LAYOUT_BOOT_PARAMS_ADDR + X86_PAGE_SIZE < BOOT_STACK_TOP, "room for a stack page");
_Static_assert(LAYOUT_PDPT_ADDR == LAYOUT_PML4_ADDR + X86_PAGE_SIZE, "PDPT follows PML4");
_Static_assert(LAYOUT_PD_ADDR + BOOT_IDENTITY_PDS * X86_PAGE_SIZE <= LAYOUT_CMDLINE_ADDR,
               "page directories fit below the command line");
_Static_assert(BOOT_IDENTITY_PDS <= X86_PT_ENTRIES, "one PDPT is enough");

/* One segment register, mirroring struct kvm_segment. `limit` is the
 * byte-granular limit as KVM wants it (0xffffffff for a flat G=1 segment),
 * not the raw 20-bit descriptor field. */
struct boot_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type;
    uint8_t present;
    uint8_t dpl;
    uint8_t db;
    uint8_t s;
    uint8_t l;
    uint8_t g;
    uint8_t avl;
    uint8_t unusable;
};

/* Mirrors struct kvm_dtable. */
struct boot_dtable {
    uint64_t base;
    uint16_t limit;
};

struct boot_cpu_state {
    /* kvm_regs (everything not listed is 0) */
    uint64_t rip;        /* 64-bit kernel entry */
    uint64_t rsi;        /* boot_params guest-physical address */
    uint64_t rsp;        /* BOOT_STACK_TOP */
    uint64_t rflags;     /* X86_RFLAGS_FIXED: IF=0 */
    /* kvm_sregs */
    uint64_t cr0;        /* PE|MP|ET|NE|WP|PG */
    uint64_t cr3;        /* LAYOUT_PML4_ADDR */
    uint64_t cr4;        /* PAE */
    uint64_t efer;       /* LME|LMA */
    struct boot_dtable gdt;
    struct boot_dtable idt; /* base 0, limit 0: no IDT until the kernel loads one */
    struct boot_segment cs, ds, es, fs, gs, ss;
    struct boot_segment tr;
    struct boot_segment ldt; /* unusable */
};

/* Pure: the CPU state for entering a kernel at `entry` with %rsi = boot_params. */
void boot_cpu_state_init(struct boot_cpu_state *st, uint64_t entry, uint64_t boot_params_addr);

/* Pure: encode one segment as an 8-byte code/data descriptor, or the two
 * 8-byte halves of a 16-byte system descriptor (hi is 0 for code/data). */
void boot_gdt_encode(const struct boot_segment *seg, uint64_t *lo, uint64_t *hi);

/* Write the GDT at LAYOUT_GDT_ADDR. Returns 0 or -EFAULT if it is not RAM. */
int boot_gdt_write(const struct guest_mem *gm) __attribute__((warn_unused_result));

/* Write PML4, PDPT and page directories identity-mapping
 * [0, LAYOUT_IDENTITY_MAP_SIZE). Returns 0 or -EFAULT. */
int boot_pagetables_write(const struct guest_mem *gm) __attribute__((warn_unused_result));

/*
 * Everything above in one call: write the GDT and the page tables into guest
 * RAM and fill `st`. Returns 0 or -EFAULT (st is then undefined).
 */
int boot_cpu_setup(const struct guest_mem *gm, uint64_t entry, uint64_t boot_params_addr,
                   struct boot_cpu_state *st) __attribute__((warn_unused_result));

#endif
