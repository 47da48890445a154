/* SPDX-License-Identifier: MIT */
/*
 * The x86 Linux boot protocol (Documentation/arch/x86/boot.rst): the real-mode
 * kernel header ("setup header") at offset 0x1f1 of a bzImage and the
 * boot_params structure ("zero page") that carries it to a 64-bit entry.
 *
 * Field names follow boot.rst. Offsets are checked with _Static_assert; the
 * structs are packed and little-endian, exactly as the kernel lays them out.
 * Names are prefixed bp_/BP_ so this header can coexist with <asm/bootparam.h>.
 */
#ifndef SLUICE_VMM_BOOTPARAM_H
#define SLUICE_VMM_BOOTPARAM_H

#include <stddef.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the x86 boot protocol structures are little-endian"
#endif

/* ---- Offsets in a bzImage file (boot.rst "THE REAL-MODE KERNEL HEADER") ---- */
#define BP_SECTOR_SIZE 512U               /* setup_sects counts 512-byte sectors */
#define BP_SETUP_HEADER_OFFSET 0x1f1U     /* struct bp_setup_header starts here */
#define BP_BOOT_FLAG_OFFSET 0x1feU        /* u16 boot_flag */
#define BP_JUMP_OFFSET 0x200U             /* u16 jump: "EB xx" short jump */
#define BP_JUMP_DISP_OFFSET 0x201U        /* the xx byte: header end = 0x202 + xx */
#define BP_HEADER_MAGIC_OFFSET 0x202U     /* u32 header: "HdrS" */
#define BP_VERSION_OFFSET 0x206U          /* u16 version */

#define BP_BOOT_FLAG_MAGIC 0xaa55U
#define BP_HEADER_MAGIC 0x53726448U       /* "HdrS" read as a little-endian u32 */
#define BP_JUMP_OPCODE_SHORT 0xebU        /* low byte of the jump field */
#define BP_JUMP_DISP_SHIFT 8              /* high byte: displacement from 0x202 */

#define BP_SETUP_SECTS_DEFAULT 4U         /* "If this field is 0, the real value is 4." */
#define BP_SYSSIZE_UNIT 16U               /* syssize counts 16-byte paragraphs */

/* version = major << 8 | minor */
#define BP_VERSION(major, minor) (((major) << 8) | (minor))
#define BP_VERSION_MAJOR(v) (((v) >> 8) & 0xffU)
#define BP_VERSION_MINOR(v) ((v) & 0xffU)
#define BP_VERSION_MIN_64BIT BP_VERSION(2, 12) /* xloadflags / XLF_KERNEL_64 */
#define BP_VERSION_ACPI_RSDP BP_VERSION(2, 14) /* boot_params.acpi_rsdp_addr */

/* 64-bit boot protocol: "the 64-bit entry point is at offset 0x200 from the
 * start of the loaded 64-bit kernel". */
#define BP_STARTUP_64_OFFSET 0x200U

/* type_of_loader: 0xff = "undefined" boot loader with no assigned ID. */
#define BP_LOADER_TYPE_UNDEFINED 0xffU

/* vid_mode: 0xffff = "normal" (NORMAL_VGA). */
#define BP_VID_MODE_NORMAL 0xffffU

/* loadflags */
#define BP_LOADED_HIGH (1U << 0)
#define BP_KASLR_FLAG (1U << 1)
#define BP_QUIET_FLAG (1U << 5)
#define BP_KEEP_SEGMENTS (1U << 6)
#define BP_CAN_USE_HEAP (1U << 7)

/* xloadflags */
#define BP_XLF_KERNEL_64 (1U << 0)
#define BP_XLF_CAN_BE_LOADED_ABOVE_4G (1U << 1)
#define BP_XLF_EFI_HANDOVER_32 (1U << 2)
#define BP_XLF_EFI_HANDOVER_64 (1U << 3)
#define BP_XLF_EFI_KEXEC (1U << 4)
#define BP_XLF_5LEVEL (1U << 5)
#define BP_XLF_5LEVEL_ENABLED (1U << 6)

/* ext_ramdisk_image, ext_ramdisk_size, ext_cmd_line_ptr hold bits 63:32 of
 * the 32-bit header field of the same name. */
#define BP_EXT_FIELD_SHIFT 32

/* Defaults boot.rst gives for headers that lack a field. */
#define BP_INITRD_ADDR_MAX_DEFAULT 0x37ffffffU

/* hardware_subarch */
#define BP_SUBARCH_PC 0U

/* ---- The setup header, at BP_SETUP_HEADER_OFFSET in file and zero page ---- */
struct bp_setup_header {
    uint8_t setup_sects;          /* 0x1f1 size of the setup in sectors */
    uint16_t root_flags;          /* 0x1f2 */
    uint32_t syssize;             /* 0x1f4 size of the 32-bit code in 16-byte paras */
    uint16_t ram_size;            /* 0x1f8 obsolete */
    uint16_t vid_mode;            /* 0x1fa video mode control */
    uint16_t root_dev;            /* 0x1fc */
    uint16_t boot_flag;           /* 0x1fe 0xAA55 magic number */
    uint16_t jump;                /* 0x200 jump instruction */
    uint32_t header;              /* 0x202 magic signature "HdrS" */
    uint16_t version;             /* 0x206 boot protocol version supported */
    uint32_t realmode_swtch;      /* 0x208 */
    uint16_t start_sys_seg;       /* 0x20c obsolete */
    uint16_t kernel_version;      /* 0x20e pointer to kernel version string */
    uint8_t type_of_loader;       /* 0x210 boot loader identifier */
    uint8_t loadflags;            /* 0x211 boot protocol option flags */
    uint16_t setup_move_size;     /* 0x212 */
    uint32_t code32_start;        /* 0x214 boot loader hook */
    uint32_t ramdisk_image;       /* 0x218 initrd load address (low 32 bits) */
    uint32_t ramdisk_size;        /* 0x21c initrd size (low 32 bits) */
    uint32_t bootsect_kludge;     /* 0x220 obsolete */
    uint16_t heap_end_ptr;        /* 0x224 */
    uint8_t ext_loader_ver;       /* 0x226 */
    uint8_t ext_loader_type;      /* 0x227 */
    uint32_t cmd_line_ptr;        /* 0x228 32-bit pointer to the kernel command line */
    uint32_t initrd_addr_max;     /* 0x22c highest legal initrd address (inclusive) */
    uint32_t kernel_alignment;    /* 0x230 physical addr alignment required */
    uint8_t relocatable_kernel;   /* 0x234 whether kernel is relocatable or not */
    uint8_t min_alignment;        /* 0x235 minimum alignment, as a power of two */
    uint16_t xloadflags;          /* 0x236 */
    uint32_t cmdline_size;        /* 0x238 maximum size of the kernel command line */
    uint32_t hardware_subarch;    /* 0x23c */
    uint64_t hardware_subarch_data; /* 0x240 */
    uint32_t payload_offset;      /* 0x248 */
    uint32_t payload_length;      /* 0x24c */
    uint64_t setup_data;          /* 0x250 64-bit pointer to linked list of setup_data */
    uint64_t pref_address;        /* 0x258 preferred loading address */
    uint32_t init_size;           /* 0x260 linear memory required during initialization */
    uint32_t handover_offset;     /* 0x264 offset of handover entry point */
    uint32_t kernel_info_offset;  /* 0x268 offset of the kernel_info */
} __attribute__((packed));

#define BP_HDR_OFFSETOF(field) (BP_SETUP_HEADER_OFFSET + offsetof(struct bp_setup_header, field))
_Static_assert(BP_HDR_OFFSETOF(boot_flag) == BP_BOOT_FLAG_OFFSET, "boot_flag");
_Static_assert(BP_HDR_OFFSETOF(jump) == BP_JUMP_OFFSET, "jump");
_Static_assert(BP_HDR_OFFSETOF(header) == BP_HEADER_MAGIC_OFFSET, "header");
_Static_assert(BP_HDR_OFFSETOF(version) == BP_VERSION_OFFSET, "version");
_Static_assert(BP_HDR_OFFSETOF(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(BP_HDR_OFFSETOF(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(BP_HDR_OFFSETOF(xloadflags) == 0x236, "xloadflags");
_Static_assert(BP_HDR_OFFSETOF(pref_address) == 0x258, "pref_address");
_Static_assert(BP_HDR_OFFSETOF(init_size) == 0x260, "init_size");
_Static_assert(BP_HDR_OFFSETOF(kernel_info_offset) == 0x268, "kernel_info_offset");
_Static_assert(sizeof(struct bp_setup_header) == 0x26c - BP_SETUP_HEADER_OFFSET, "setup header");

/* A header that ends before init_size is too short for a protocol >= 2.10
 * kernel (the fields a 64-bit loader needs). */
#define BP_SETUP_HEADER_MIN_END (BP_HDR_OFFSETOF(init_size) + sizeof(uint32_t))

/* ---- The e820 memory map entry of the zero page ---- */
#define BP_E820_MAX_ENTRIES_ZEROPAGE 128U
#define BP_E820_TYPE_RAM 1U
#define BP_E820_TYPE_RESERVED 2U
#define BP_E820_TYPE_ACPI 3U
#define BP_E820_TYPE_NVS 4U
#define BP_E820_TYPE_UNUSABLE 5U

struct bp_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct bp_e820_entry) == 20, "e820 entry");

/* ---- boot_params, the "zero page" (boot.rst "THE ZERO PAGE") ---- */
#define BP_BOOT_PARAMS_SIZE 0x1000U

struct bp_boot_params {
    uint8_t screen_info[0x40];          /* 0x000 */
    uint8_t apm_bios_info[0x14];        /* 0x040 */
    uint8_t pad_054[4];                 /* 0x054 */
    uint64_t tboot_addr;                /* 0x058 */
    uint8_t ist_info[0x10];             /* 0x060 */
    uint64_t acpi_rsdp_addr;            /* 0x070 (2.14+) */
    uint8_t pad_078[8];                 /* 0x078 */
    uint8_t hd0_info[16];               /* 0x080 obsolete */
    uint8_t hd1_info[16];               /* 0x090 obsolete */
    uint8_t sys_desc_table[0x10];       /* 0x0a0 obsolete */
    uint8_t olpc_ofw_header[0x10];      /* 0x0b0 */
    uint32_t ext_ramdisk_image;         /* 0x0c0 ramdisk_image high 32 bits */
    uint32_t ext_ramdisk_size;          /* 0x0c4 ramdisk_size high 32 bits */
    uint32_t ext_cmd_line_ptr;          /* 0x0c8 cmd_line_ptr high 32 bits */
    uint8_t pad_0cc[0x13c - 0xcc];      /* 0x0cc */
    uint32_t cc_blob_address;           /* 0x13c */
    uint8_t edid_info[0x80];            /* 0x140 */
    uint8_t efi_info[0x20];             /* 0x1c0 */
    uint32_t alt_mem_k;                 /* 0x1e0 */
    uint32_t scratch;                   /* 0x1e4 */
    uint8_t e820_entries;               /* 0x1e8 number of entries in e820_table */
    uint8_t eddbuf_entries;             /* 0x1e9 */
    uint8_t edd_mbr_sig_buf_entries;    /* 0x1ea */
    uint8_t kbd_status;                 /* 0x1eb */
    uint8_t secure_boot;                /* 0x1ec */
    uint8_t pad_1ed[2];                 /* 0x1ed */
    uint8_t sentinel;                   /* 0x1ef must stay 0 (see boot.rst) */
    uint8_t pad_1f0[1];                 /* 0x1f0 */
    struct bp_setup_header hdr;         /* 0x1f1 */
    uint8_t pad_hdr[0x290 - 0x26c];     /* 0x26c room for a longer future header */
    uint32_t edd_mbr_sig_buffer[16];    /* 0x290 */
    struct bp_e820_entry e820_table[BP_E820_MAX_ENTRIES_ZEROPAGE]; /* 0x2d0 */
    uint8_t pad_cd0[0xd00 - 0xcd0];     /* 0xcd0 */
    uint8_t eddbuf[0xeec - 0xd00];      /* 0xd00 */
    uint8_t pad_eec[BP_BOOT_PARAMS_SIZE - 0xeec]; /* 0xeec */
} __attribute__((packed));

_Static_assert(offsetof(struct bp_boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
_Static_assert(offsetof(struct bp_boot_params, ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
_Static_assert(offsetof(struct bp_boot_params, ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
_Static_assert(offsetof(struct bp_boot_params, cc_blob_address) == 0x13c, "cc_blob_address");
_Static_assert(offsetof(struct bp_boot_params, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(struct bp_boot_params, sentinel) == 0x1ef, "sentinel");
_Static_assert(offsetof(struct bp_boot_params, hdr) == BP_SETUP_HEADER_OFFSET, "hdr");
_Static_assert(offsetof(struct bp_boot_params, edd_mbr_sig_buffer) == 0x290, "edd_mbr_sig_buffer");
_Static_assert(offsetof(struct bp_boot_params, e820_table) == 0x2d0, "e820_table");
_Static_assert(offsetof(struct bp_boot_params, eddbuf) == 0xd00, "eddbuf");
_Static_assert(sizeof(struct bp_boot_params) == BP_BOOT_PARAMS_SIZE, "zero page is one page");

/* The setup header copied from a bzImage may extend up to the end of the
 * header area of the zero page, never into edd_mbr_sig_buffer. */
#define BP_SETUP_HEADER_MAX_END offsetof(struct bp_boot_params, edd_mbr_sig_buffer)

#endif
