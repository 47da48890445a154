/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "boot"
#include "vmm/boot_cpu.h"

#include <errno.h>
#include <string.h>

#include "vmm/guest_mem.h"

/* Flat 4 GiB: byte-granular limit of a G=1 descriptor with raw limit 0xfffff. */
#define BOOT_FLAT_LIMIT 0xffffffffU

/*
 * The segments, defined once: the GDT is encoded from them and the segment
 * registers are loaded from them, so the two cannot disagree.
 */
static const struct boot_segment boot_seg_code = {
    .base = 0,
    .limit = BOOT_FLAT_LIMIT,
    .selector = BOOT_SELECTOR_CS,
    .type = X86_SEG_TYPE_CODE_XR_ACCESSED,
    .present = 1,
    .dpl = 0,
    .db = 0, /* must be 0 when L=1 */
    .s = 1,
    .l = 1,
    .g = 1,
};

static const struct boot_segment boot_seg_data = {
    .base = 0,
    .limit = BOOT_FLAT_LIMIT,
    .selector = BOOT_SELECTOR_DS,
    .type = X86_SEG_TYPE_DATA_RW_ACCESSED,
    .present = 1,
    .dpl = 0,
    .db = 1,
    .s = 1,
    .l = 0,
    .g = 1,
};

static const struct boot_segment boot_seg_tss = {
    .base = 0,
    .limit = X86_TSS_MIN_LIMIT,
    .selector = BOOT_SELECTOR_TSS,
    .type = X86_SEG_TYPE_TSS_BUSY,
    .present = 1,
    .s = 0,
    .g = 0,
};

static const struct boot_segment boot_seg_ldt_unusable = {
    .selector = 0,
    .type = X86_SEG_TYPE_LDT,
    .present = 0,
    .unusable = 1,
};

void boot_gdt_encode(const struct boot_segment *seg, uint64_t *lo, uint64_t *hi)
{
    uint64_t limit = seg->g ? (uint64_t)seg->limit >> X86_DESC_GRANULE_SHIFT : seg->limit;
    uint64_t d = 0;

    d |= limit & X86_DESC_LIMIT_LO_MASK;
    d |= (seg->base & X86_DESC_BASE_LO_MASK) << X86_DESC_BASE_LO_SHIFT;
    d |= ((uint64_t)seg->type & X86_DESC_TYPE_MASK) << X86_DESC_TYPE_SHIFT;
    d |= (uint64_t)(seg->s & 1) << X86_DESC_S_SHIFT;
    d |= ((uint64_t)seg->dpl & X86_DESC_DPL_MASK) << X86_DESC_DPL_SHIFT;
    d |= (uint64_t)(seg->present & 1) << X86_DESC_P_SHIFT;
    d |= ((limit >> X86_DESC_LIMIT_LO_BITS) & X86_DESC_LIMIT_HI_MASK) << X86_DESC_LIMIT_HI_SHIFT;
    d |= (uint64_t)(seg->avl & 1) << X86_DESC_AVL_SHIFT;
    d |= (uint64_t)(seg->l & 1) << X86_DESC_L_SHIFT;
    d |= (uint64_t)(seg->db & 1) << X86_DESC_DB_SHIFT;
    d |= (uint64_t)(seg->g & 1) << X86_DESC_G_SHIFT;
    d |= ((seg->base >> X86_DESC_BASE_LO_BITS) & X86_DESC_BASE_HI_MASK) << X86_DESC_BASE_HI_SHIFT;
    *lo = d;
    /* System descriptors are 16 bytes in IA-32e mode: base[63:32] follows. */
    *hi = seg->s ? 0 : seg->base >> X86_SYSDESC64_BASE_HI_SHIFT;
}

int boot_gdt_write(const struct guest_mem *gm)
{
    uint64_t gdt[BOOT_GDT_ENTRIES];

    memset(gdt, 0, sizeof(gdt));
    uint64_t unused;
    boot_gdt_encode(&boot_seg_code, &gdt[BOOT_GDT_INDEX_CS], &unused);
    boot_gdt_encode(&boot_seg_data, &gdt[BOOT_GDT_INDEX_DS], &unused);
    boot_gdt_encode(&boot_seg_tss, &gdt[BOOT_GDT_INDEX_TSS], &gdt[BOOT_GDT_INDEX_TSS + 1]);
    _Static_assert(BOOT_GDT_INDEX_TSS + X86_SYSDESC64_SIZE / X86_DESC_SIZE == BOOT_GDT_ENTRIES,
                   "the TSS descriptor is the last GDT entry");
    return guest_mem_write(gm, LAYOUT_GDT_ADDR, gdt, sizeof(gdt));
}

int boot_pagetables_write(const struct guest_mem *gm)
{
    uint64_t table[X86_PT_ENTRIES];
    int ret;

    /* PML4[0] -> PDPT: the first 512 GiB, of which we fill the first 4 GiB. */
    memset(table, 0, sizeof(table));
    table[0] = LAYOUT_PDPT_ADDR | X86_PTE_PRESENT | X86_PTE_RW;
    ret = guest_mem_write(gm, LAYOUT_PML4_ADDR, table, sizeof(table));
    if (ret)
        return ret;

    /* PDPT[i] -> page directory i, each mapping 1 GiB. */
    memset(table, 0, sizeof(table));
    for (unsigned i = 0; i < BOOT_IDENTITY_PDS; i++)
        table[i] = (LAYOUT_PD_ADDR + i * X86_PAGE_SIZE) | X86_PTE_PRESENT | X86_PTE_RW;
    ret = guest_mem_write(gm, LAYOUT_PDPT_ADDR, table, sizeof(table));
    if (ret)
        return ret;

    /* PD i entry j maps 2 MiB at i GiB + j * 2 MiB onto itself. */
    for (unsigned i = 0; i < BOOT_IDENTITY_PDS; i++) {
        for (unsigned j = 0; j < X86_PT_ENTRIES; j++) {
            uint64_t pa = (uint64_t)i * X86_PAGE_SIZE_1G + (uint64_t)j * X86_PAGE_SIZE_2M;
            table[j] = pa | X86_PTE_PRESENT | X86_PTE_RW | X86_PTE_PS;
        }
        ret = guest_mem_write(gm, LAYOUT_PD_ADDR + i * X86_PAGE_SIZE, table, sizeof(table));
        if (ret)
            return ret;
    }
    return 0;
}

void boot_cpu_state_init(struct boot_cpu_state *st, uint64_t entry, uint64_t boot_params_addr)
{
    memset(st, 0, sizeof(*st));
    st->rip = entry;
    st->rsi = boot_params_addr;
    st->rsp = BOOT_STACK_TOP;
    st->rflags = X86_RFLAGS_FIXED;

    st->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
    st->cr3 = LAYOUT_PML4_ADDR;
    st->cr4 = X86_CR4_PAE;
    st->efer = X86_EFER_LME | X86_EFER_LMA;

    st->gdt.base = LAYOUT_GDT_ADDR;
    st->gdt.limit = BOOT_GDT_LIMIT;
    st->idt.base = 0;
    st->idt.limit = 0;

    st->cs = boot_seg_code;
    st->ds = boot_seg_data;
    st->es = boot_seg_data;
    st->fs = boot_seg_data;
    st->gs = boot_seg_data;
    st->ss = boot_seg_data;
    st->tr = boot_seg_tss;
    st->ldt = boot_seg_ldt_unusable;
}

int boot_cpu_setup(const struct guest_mem *gm, uint64_t entry, uint64_t boot_params_addr,
                   struct boot_cpu_state *st)
{
    int ret = boot_gdt_write(gm);
    if (ret)
        return ret;
    ret = boot_pagetables_write(gm);
    if (ret)
        return ret;
    boot_cpu_state_init(st, entry, boot_params_addr);
    return 0;
}
