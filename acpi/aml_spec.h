/* SPDX-License-Identifier: MIT */
/*
 * AML encoding constants, named after ACPI 6.x chapter 20 ("ACPI Machine
 * Language Specification") and 6.4 ("Resource Data Types for ACPI").
 */
#ifndef SLUICE_ACPI_AML_SPEC_H
#define SLUICE_ACPI_AML_SPEC_H

/* 20.2.2 Name Objects Encoding */
#define AML_NAMESEG_LEN 4
#define AML_NAMESEG_PAD '_'
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_PREFIX_CHAR '^'
#define AML_PATH_SEPARATOR '.'
#define AML_NULL_NAME 0x00
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_MULTI_NAME_MAX_SEGS 255

/* 20.2.3 Data Objects Encoding */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_ONES_OP 0xff
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_STRING_CHAR_MIN 0x01
#define AML_STRING_CHAR_MAX 0x7f

/* 20.2.4 Package Length Encoding */
#define AML_PKGLEN_MAX_BYTES 4
#define AML_PKGLEN_1BYTE_MAX 0x3f        /* 6 bits in the lead byte */
#define AML_PKGLEN_2BYTE_MAX 0xfff       /* 4 + 8 bits */
#define AML_PKGLEN_3BYTE_MAX 0xfffff     /* 4 + 16 bits */
#define AML_PKGLEN_4BYTE_MAX 0xfffffff   /* 4 + 24 bits */
#define AML_PKGLEN_LEAD_NIBBLE_BITS 4
#define AML_PKGLEN_LEAD_NIBBLE_MASK 0x0f
#define AML_PKGLEN_BYTECOUNT_SHIFT 6     /* lead byte bits 7:6: following bytes */

/* 20.2.5 Term Objects Encoding */
#define AML_EXT_OP_PREFIX 0x5b
#define AML_NAME_OP 0x08
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_IF_OP 0xa0
#define AML_ELSE_OP 0xa1
#define AML_RETURN_OP 0xa4
#define AML_STORE_OP 0x70
#define AML_AND_OP 0x7b
#define AML_OR_OP 0x7d
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LAND_OP 0x90
#define AML_LOR_OP 0x91
#define AML_LNOT_OP 0x92
#define AML_LEQUAL_OP 0x93
#define AML_NULL_TARGET 0x00 /* Target: NullName, the result is discarded */
#define AML_PACKAGE_MAX_ELEMENTS 255

/* MethodFlags */
#define AML_METHOD_ARGS_MAX 7
#define AML_METHOD_SERIALIZED 0x08

/* 20.2.6.1 Arg Objects Encoding, 20.2.6.2 Local Objects Encoding */
#define AML_ARG0_OP 0x68
#define AML_LOCAL0_OP 0x60
#define AML_LOCALS_MAX 8

/* 6.4.1 ASL Macro for Resource Descriptors: tags */
#define AML_RES_SMALL_NAME_SHIFT 3
#define AML_RES_SMALL_LEN_MASK 0x07
#define AML_RES_LARGE_BIT 0x80
#define AML_RES_SMALL_IRQ 0x04       /* 6.4.2.1 IRQ Descriptor */
#define AML_RES_SMALL_IO 0x08        /* 6.4.2.5 I/O Port Descriptor */
#define AML_RES_SMALL_END_TAG 0x0f   /* 6.4.2.9 End Tag */
#define AML_RES_LARGE_MEM32_FIXED 0x06 /* 6.4.3.4 32-Bit Fixed Memory Range Descriptor */
#define AML_RES_LARGE_DWORD_ADDR 0x07  /* 6.4.3.5.2 DWord Address Space Descriptor */
#define AML_RES_LARGE_WORD_ADDR 0x08   /* 6.4.3.5.3 Word Address Space Descriptor */
#define AML_RES_LARGE_EXT_IRQ 0x09   /* 6.4.3.6 Extended Interrupt Descriptor */
#define AML_RES_LARGE_QWORD_ADDR 0x0a  /* 6.4.3.5.1 QWord Address Space Descriptor */

#define AML_RES_IRQ_NOFLAGS_LEN 2    /* IRQ mask only: edge, active-high, exclusive */
#define AML_RES_ISA_IRQS 16
#define AML_RES_IO_LEN 7
#define AML_RES_IO_DECODE16 0x01     /* Information bit 0: 16-bit address decode */
#define AML_RES_END_TAG_LEN 1
#define AML_RES_END_TAG_CHECKSUM 0   /* "0": treat the template as checksummed */

/* Extended Interrupt Descriptor: Interrupt Vector Flags */
#define AML_RES_INT_CONSUMER 0x01
#define AML_RES_INT_EDGE 0x02        /* else level */
#define AML_RES_INT_ACTIVE_LOW 0x04  /* else active-high */
#define AML_RES_INT_SHARED 0x08      /* else exclusive */
#define AML_RES_INT_WAKE 0x10

/* 32-Bit Fixed Memory Range Descriptor: Information */
#define AML_RES_MEM32_FIXED_LEN 9
#define AML_RES_MEM_INFO_RW 0x01     /* else read-only */

/* 6.4.3.5 Address Space Descriptors: Resource Type */
#define AML_RES_ADDR_TYPE_MEMORY 0
#define AML_RES_ADDR_TYPE_IO 1
#define AML_RES_ADDR_TYPE_BUS 2
/* General Flags */
#define AML_RES_ADDR_CONSUMER 0x01   /* else ResourceProducer (a bridge window) */
#define AML_RES_ADDR_SUB_DECODE 0x02 /* else PosDecode */
#define AML_RES_ADDR_MIN_FIXED 0x04  /* _MIF */
#define AML_RES_ADDR_MAX_FIXED 0x08  /* _MAF */
/* Type Specific Flags, memory (table 6.50): _RW bit 0, _MEM bits 2:1 */
#define AML_RES_MEM_RW 0x01
#define AML_RES_MEM_NON_CACHEABLE (0 << 1)
#define AML_RES_MEM_CACHEABLE (1 << 1)
#define AML_RES_MEM_WRITE_COMBINING (2 << 1)
#define AML_RES_MEM_PREFETCHABLE (3 << 1)
/* Type Specific Flags, I/O (table 6.51): _RNG bits 1:0 */
#define AML_RES_IO_RANGE_ENTIRE 0x03
/* Type Specific Flags, bus number: none */
#define AML_RES_BUS_FLAGS 0x00
/* Length field (after the tag and length) of each address descriptor without
 * a ResourceSource: type, general flags, type flags, then five fields of
 * the descriptor's width (_GRA, _MIN, _MAX, _TRA, _LEN). */
#define AML_RES_ADDR_FIXED_FIELDS 3
#define AML_RES_ADDR_WIDTH_FIELDS 5

/* 19.6.142 ToUUID: "aabbccdd-eeff-gghh-iijj-kkllmmnnoopp", 16 bytes */
#define AML_UUID_STRING_LEN 36
#define AML_UUID_LEN 16

#endif
