/* SPDX-License-Identifier: MIT */
/*
 * x86 architectural constants the 64-bit boot environment needs, named after
 * the Intel SDM Vol. 3A (2.5 control registers, 3.4.5 segment descriptors,
 * 4.5 4-level paging, 7.2.3 TSS descriptor in 64-bit mode) and the Linux
 * boot protocol's segment selectors.
 */
#ifndef SLUICE_VMM_BOOT_X86_H
#define SLUICE_VMM_BOOT_X86_H

#include <stdint.h>

/* CR0 */
#define X86_CR0_PE (1ULL << 0)   /* protection enable */
#define X86_CR0_MP (1ULL << 1)   /* monitor coprocessor */
#define X86_CR0_ET (1ULL << 4)   /* extension type (hardwired 1) */
#define X86_CR0_NE (1ULL << 5)   /* numeric error */
#define X86_CR0_WP (1ULL << 16)  /* write protect */
#define X86_CR0_AM (1ULL << 18)  /* alignment mask */
#define X86_CR0_PG (1ULL << 31)  /* paging */

/* CR4 */
#define X86_CR4_PAE (1ULL << 5)  /* physical address extension */

/* IA32_EFER */
#define X86_EFER_SCE (1ULL << 0)  /* syscall enable */
#define X86_EFER_LME (1ULL << 8)  /* IA-32e mode enable */
#define X86_EFER_LMA (1ULL << 10) /* IA-32e mode active */

/* RFLAGS: bit 1 is reserved and always reads 1. */
#define X86_RFLAGS_FIXED (1ULL << 1)

/* Segment descriptor (8 bytes) bit positions. */
#define X86_DESC_LIMIT_LO_MASK 0xffffULL        /* limit[15:0]  in bits 0..15  */
#define X86_DESC_LIMIT_LO_BITS 16
#define X86_DESC_BASE_LO_SHIFT 16               /* base[23:0]   in bits 16..39 */
#define X86_DESC_BASE_LO_MASK 0xffffffULL
#define X86_DESC_TYPE_SHIFT 40                  /* type         in bits 40..43 */
#define X86_DESC_TYPE_MASK 0xfULL
#define X86_DESC_S_SHIFT 44                     /* 1 = code/data, 0 = system */
#define X86_DESC_DPL_SHIFT 45                   /* bits 45..46 */
#define X86_DESC_DPL_MASK 0x3ULL
#define X86_DESC_P_SHIFT 47                     /* present */
#define X86_DESC_LIMIT_HI_SHIFT 48              /* limit[19:16] in bits 48..51 */
#define X86_DESC_LIMIT_HI_MASK 0xfULL
#define X86_DESC_AVL_SHIFT 52
#define X86_DESC_L_SHIFT 53                     /* 64-bit code segment */
#define X86_DESC_DB_SHIFT 54                    /* default operation size / big */
#define X86_DESC_G_SHIFT 55                     /* granularity: limit in 4 KiB units */
#define X86_DESC_BASE_HI_SHIFT 56               /* base[31:24]  in bits 56..63 */
#define X86_DESC_BASE_HI_MASK 0xffULL
#define X86_DESC_LIMIT_BITS 20                  /* a raw limit is 20 bits */
#define X86_DESC_LIMIT_RAW_MAX 0xfffffULL
#define X86_DESC_GRANULE_SHIFT 12               /* G=1: limit counts 4 KiB */
#define X86_DESC_BASE_LO_BITS 24
#define X86_DESC_SIZE 8U
#define X86_SYSDESC64_SIZE 16U                  /* TSS/LDT descriptors in IA-32e mode */
#define X86_SYSDESC64_BASE_HI_SHIFT 32          /* 2nd quadword: base[63:32] */

/* Code/data segment types (S=1), accessed bit set as a loaded segment has it. */
#define X86_SEG_TYPE_DATA_RW_ACCESSED 0x3U
#define X86_SEG_TYPE_CODE_XR_ACCESSED 0xbU
/* System segment types (S=0). */
#define X86_SEG_TYPE_LDT 0x2U
#define X86_SEG_TYPE_TSS_BUSY 0xbU               /* 32/64-bit busy TSS */

/* Minimum TSS limit: a 104-byte 64-bit TSS without an I/O bitmap. */
#define X86_TSS_MIN_LIMIT 0x67U

/* Selectors: index << 3 | TI | RPL. */
#define X86_SELECTOR_INDEX_SHIFT 3

/* 4-level paging entries (PML4E, PDPTE, PDE). */
#define X86_PTE_PRESENT (1ULL << 0)
#define X86_PTE_RW (1ULL << 1)
#define X86_PTE_PS (1ULL << 7)                  /* PDE maps a 2 MiB page */
#define X86_PTE_ADDR_MASK 0x000ffffffffff000ULL /* bits 12..51 */
#define X86_PAGE_SIZE 0x1000ULL
#define X86_PAGE_SIZE_2M 0x200000ULL
#define X86_PAGE_SIZE_1G 0x40000000ULL
#define X86_PT_ENTRIES 512U
#define X86_PML4_SHIFT 39
#define X86_PDPT_SHIFT 30
#define X86_PD_SHIFT 21
#define X86_PT_INDEX_MASK 0x1ffULL

#endif
