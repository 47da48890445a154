/* SPDX-License-Identifier: MIT */
/*
 * The 64-bit entry environment: walk the identity page tables written into
 * guest RAM, decode the GDT with the SDM's bit layout (independently of the
 * encoder), and check the register state handed to the KVM side.
 */
#include <errno.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/boot_cpu.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define MiB (1024ULL * 1024ULL)

static uint64_t rd64(const struct guest_mem *gm, uint64_t gpa)
{
    uint64_t v = 0;
    CHECK_EQ(guest_mem_read(gm, gpa, &v, sizeof(v)), 0);
    return v;
}

/* 4-level walk from CR3. Returns 0 and the physical address, or -1. */
static int translate(const struct guest_mem *gm, uint64_t cr3, uint64_t va, uint64_t *pa)
{
    const uint64_t addr_mask = 0x000ffffffffff000ULL;
    uint64_t pml4e = rd64(gm, (cr3 & addr_mask) + ((va >> 39) & 0x1ff) * 8);
    if (!(pml4e & 1) || !(pml4e & 2))
        return -1;
    uint64_t pdpte = rd64(gm, (pml4e & addr_mask) + ((va >> 30) & 0x1ff) * 8);
    if (!(pdpte & 1) || !(pdpte & 2) || (pdpte & 0x80))
        return -1;
    uint64_t pde = rd64(gm, (pdpte & addr_mask) + ((va >> 21) & 0x1ff) * 8);
    if (!(pde & 1) || !(pde & 2) || !(pde & 0x80)) /* present, rw, 2 MiB page */
        return -1;
    *pa = (pde & addr_mask & ~0x1fffffULL) | (va & 0x1fffff);
    return 0;
}

struct decoded {
    uint64_t base;
    uint32_t limit; /* byte-granular */
    unsigned type, s, dpl, p, avl, l, db, g;
};

static struct decoded decode(uint64_t d, uint64_t hi)
{
    struct decoded x;
    uint32_t raw = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    x.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    x.type = (d >> 40) & 0xf;
    x.s = (d >> 44) & 1;
    x.dpl = (d >> 45) & 3;
    x.p = (d >> 47) & 1;
    x.avl = (d >> 52) & 1;
    x.l = (d >> 53) & 1;
    x.db = (d >> 54) & 1;
    x.g = (d >> 55) & 1;
    x.limit = x.g ? (raw << 12) | 0xfff : raw;
    if (!x.s)
        x.base |= hi << 32;
    return x;
}

static void check_seg_matches(const struct boot_segment *seg, struct decoded d)
{
    CHECK_EQ(seg->base, d.base);
    CHECK_EQ(seg->limit, d.limit);
    CHECK_EQ(seg->type, d.type);
    CHECK_EQ(seg->s, d.s);
    CHECK_EQ(seg->dpl, d.dpl);
    CHECK_EQ(seg->present, d.p);
    CHECK_EQ(seg->avl, d.avl);
    CHECK_EQ(seg->l, d.l);
    CHECK_EQ(seg->db, d.db);
    CHECK_EQ(seg->g, d.g);
    CHECK_EQ(seg->unusable, 0);
}

int main(void)
{
    struct guest_mem gm;
    struct boot_cpu_state st;

    CHECK_EQ(guest_mem_create(&gm, 64 * MiB, false), 0);
    /* Dirty the area to make sure every table byte is written. */
    memset(guest_mem_ptr(&gm, 0, 0x20000), 0xa5, 0x20000);
    CHECK_EQ(boot_cpu_setup(&gm, 0x1000200, LAYOUT_BOOT_PARAMS_ADDR, &st), 0);

    /* Registers */
    CHECK_EQ(st.rip, 0x1000200);
    CHECK_EQ(st.rsi, LAYOUT_BOOT_PARAMS_ADDR);
    CHECK_EQ(st.rflags, 0x2);
    CHECK(st.rsp > LAYOUT_BOOT_PARAMS_ADDR + 0x1000 && st.rsp <= LAYOUT_PML4_ADDR);
    CHECK_EQ(st.rsp % 16, 0);
    CHECK_EQ(st.cr0, 0x80010033ULL); /* PG | WP | NE | ET | MP | PE */
    CHECK_EQ(st.cr3, LAYOUT_PML4_ADDR);
    CHECK_EQ(st.cr4, 0x20);          /* PAE */
    CHECK_EQ(st.efer, 0x500);        /* LMA | LME */
    CHECK_EQ(st.gdt.base, LAYOUT_GDT_ADDR);
    CHECK_EQ(st.gdt.limit, 6 * 8 - 1);
    CHECK_EQ(st.idt.base, 0);
    CHECK_EQ(st.idt.limit, 0);

    /* Identity map */
    const uint64_t addrs[] = { 0, 0x7000, 0x100000, 0x1000200, 0x3ffffff, 0x40000000,
                               0xbfffffff, 0xc0000000, 0xfee00000, 0xffe00000, 0xffffffff };
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        uint64_t pa = ~0ULL;
        CHECK_EQ(translate(&gm, st.cr3, addrs[i], &pa), 0);
        CHECK_EQ(pa, addrs[i]);
    }
    uint64_t pa;
    CHECK_EQ(translate(&gm, st.cr3, 0x100000000ULL, &pa), -1); /* 4 GiB: not mapped */
    CHECK_EQ(translate(&gm, st.cr3, 0xffffffff81000000ULL, &pa), -1);
    CHECK_EQ(rd64(&gm, LAYOUT_PML4_ADDR + 8), 0);
    CHECK_EQ(rd64(&gm, LAYOUT_PDPT_ADDR + 4 * 8), 0);
    CHECK_EQ(rd64(&gm, LAYOUT_PD_ADDR + 3 * 0x1000 + 511 * 8), 0xffe00000ULL | 0x83);

    /* GDT: the classic flat long-mode descriptors, bit for bit. */
    uint64_t gdt[6];
    CHECK_EQ(guest_mem_read(&gm, LAYOUT_GDT_ADDR, gdt, sizeof(gdt)), 0);
    CHECK_EQ(gdt[0], 0);
    CHECK_EQ(gdt[1], 0);
    CHECK_EQ(gdt[2], 0x00af9b000000ffffULL); /* __BOOT_CS: L=1 G=1 P=1 S=1 type 0xb */
    CHECK_EQ(gdt[3], 0x00cf93000000ffffULL); /* __BOOT_DS: D/B=1 G=1 P=1 S=1 type 0x3 */
    CHECK_EQ(gdt[4], 0x00008b0000000067ULL); /* TSS: P=1 S=0 type 0xb, limit 0x67 */
    CHECK_EQ(gdt[5], 0);

    /* Segment registers equal what the GDT entries at their selectors decode to. */
    CHECK_EQ(st.cs.selector, 0x10);
    check_seg_matches(&st.cs, decode(gdt[st.cs.selector >> 3], 0));
    CHECK_EQ(st.cs.l, 1);
    CHECK_EQ(st.cs.db, 0);
    CHECK_EQ(st.cs.limit, 0xffffffff);
    const struct boot_segment *data[] = { &st.ds, &st.es, &st.fs, &st.gs, &st.ss };
    for (size_t i = 0; i < 5; i++) {
        CHECK_EQ(data[i]->selector, 0x18);
        check_seg_matches(data[i], decode(gdt[data[i]->selector >> 3], 0));
    }
    CHECK_EQ(st.tr.selector, 0x20);
    check_seg_matches(&st.tr, decode(gdt[4], gdt[5]));
    CHECK_EQ(st.tr.type, 11);
    CHECK_EQ(st.ldt.unusable, 1);
    CHECK_EQ(st.ldt.present, 0);
    CHECK_EQ(st.ldt.selector, 0);

    /* The encoder round-trips a descriptor with every field non-zero. */
    struct boot_segment odd = { .base = 0x12345678, .limit = 0xabcde, .type = 0x5, .s = 1,
                                .dpl = 3, .present = 1, .avl = 1, .l = 0, .db = 1, .g = 0 };
    uint64_t lo, hi;
    boot_gdt_encode(&odd, &lo, &hi);
    struct decoded d = decode(lo, hi);
    check_seg_matches(&odd, d);
    CHECK_EQ(hi, 0);
    struct boot_segment sys = { .base = 0xfedcba9876543210ULL, .limit = 0x67, .type = 0xb,
                                .present = 1 };
    boot_gdt_encode(&sys, &lo, &hi);
    CHECK_EQ(hi, 0xfedcba98);
    CHECK_EQ(decode(lo, hi).base, 0xfedcba9876543210ULL);
    guest_mem_destroy(&gm);

    /* No RAM at the boot structures: an error, not a crash. */
    struct guest_mem none;
    memset(&none, 0, sizeof(none));
    CHECK_EQ(boot_cpu_setup(&none, 0, 0, &st), -EFAULT);

    return check_result("test_boot_cpu");
}
