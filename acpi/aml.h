/* SPDX-License-Identifier: MIT */
/*
 * A small AML byte-code builder (ACPI 6.x chapter 20).
 *
 * Usage: aml_init(), emit terms in order, aml_finish() (the first error),
 * read `data`/`len`, aml_free(). The buffer grows on demand.
 *
 * Errors are latched: every emitter returns nothing; the first failure
 * (-ENOMEM from realloc, -E2BIG past `limit`, -EINVAL for a bad name, string,
 * argument or unbalanced nesting) is recorded in `err`, and every later call
 * is a no-op. Check once, at the end, with aml_finish().
 *
 * Nested objects (Scope, Device, Package, Buffer, ResourceTemplate, Method,
 * If, Else) are opened with aml_*_begin(), which returns a mark, filled with the
 * object's contents, and closed with aml_end(mark) in LIFO order. aml_end()
 * measures the contents and inserts the PkgLength (1..4 bytes) in front of
 * them (plus the BufferSize for buffers, the EndTag for resource templates),
 * so nesting depth and sizes never have to be known up front:
 *
 *     struct aml_mark dev = aml_device_begin(a, "COM1");
 *     aml_name_eisaid(a, "_HID", "PNP0501");
 *     struct aml_mark crs = aml_name_resource_template_begin(a, "_CRS");
 *     aml_res_io(a, 0x3f8, 0x3f8, 1, 8);
 *     aml_end(a, crs);
 *     aml_end(a, dev);
 */
#ifndef SLUICE_ACPI_AML_H
#define SLUICE_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi/aml_spec.h"

/* Default and highest `limit`: the largest length a PkgLength can encode. */
#define AML_MAX_LEN AML_PKGLEN_4BYTE_MAX

struct aml {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit;     /* growth beyond this latches -E2BIG */
    int err;          /* first error, 0 while healthy */
    unsigned depth;   /* objects opened and not yet closed */
};

enum aml_mark_kind { AML_MARK_PKG, AML_MARK_BUFFER, AML_MARK_RESOURCE_TEMPLATE };

/* Returned by aml_*_begin(); pass it back to aml_end(). */
struct aml_mark {
    size_t start;     /* where the PkgLength goes */
    unsigned depth;   /* nesting level, to catch unbalanced ends */
    enum aml_mark_kind kind;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* The latched error, or -EINVAL if objects are still open; 0 when done. */
int aml_finish(const struct aml *a) __attribute__((warn_unused_result));

/* Latch `err` (a -errno) unless an error is already recorded. */
void aml_fail(struct aml *a, int err);

/* Raw bytes (for encodings this builder does not know yet). */
void aml_append(struct aml *a, const void *data, size_t len);
void aml_append_byte(struct aml *a, uint8_t byte);

/*
 * PkgLength of an object whose contents (after the PkgLength) are
 * `content_len` bytes: writes the encoding into out[] and returns its size
 * (1..4), or 0 when the object is too large to encode.
 */
size_t aml_pkglength_encode(size_t content_len, uint8_t out[AML_PKGLEN_MAX_BYTES]);

/* NameString from ASL syntax: "_HID", "\\_SB.COM1", "^^PCI0.S00", "\\". Segments
 * shorter than 4 characters are padded with '_'. */
void aml_namestring(struct aml *a, const char *path);

/* Data objects. aml_integer uses the shortest encoding, as iasl does: Zero,
 * One, Ones (for UINT64_MAX: the tables this builds are revision 2+, where
 * integers are 64 bits wide), Byte, Word, DWord or QWord prefix. */
void aml_integer(struct aml *a, uint64_t value);
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0501"): three capital letters, four hex digits, as a DWordConst. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(name, <value>): emits NameOp and the name; the caller emits the value. */
void aml_name(struct aml *a, const char *name);
void aml_name_integer(struct aml *a, const char *name, uint64_t value);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* Nested objects; close each with aml_end(). */
struct aml_mark aml_scope_begin(struct aml *a, const char *path);
struct aml_mark aml_device_begin(struct aml *a, const char *name);
/* Package(n) { ... }: the caller emits exactly `nelements` data objects. */
struct aml_mark aml_package_begin(struct aml *a, unsigned nelements);
/* Buffer() { bytes }: BufferSize is computed by aml_end(). */
struct aml_mark aml_buffer_begin(struct aml *a);
struct aml_mark aml_method_begin(struct aml *a, const char *name, unsigned nargs,
                                 bool serialized);
/* If (predicate) { ... }: the caller emits the predicate term first. */
struct aml_mark aml_if_begin(struct aml *a);
/* Else { ... }: directly after the aml_end() of an If. */
struct aml_mark aml_else_begin(struct aml *a);
void aml_end(struct aml *a, struct aml_mark mark);

/* Simple terms for method bodies. */
void aml_return(struct aml *a);   /* Return (<next term>) */
void aml_arg(struct aml *a, unsigned n);    /* Arg0..Arg6 */
void aml_local(struct aml *a, unsigned n);  /* Local0..Local7 */

/*
 * Operators, in prefix form like aml_return(): each emits its opcode, the
 * caller then emits the operands in order (and the target where there is
 * one: a name, aml_local()/aml_arg(), or aml_null_target()).
 *   aml_store:  Store (<source>, <target>)
 *   aml_and/or: And/Or (<operand>, <operand>, <target>)
 *   aml_lequal/land/lor: LEqual/LAnd/LOr (<operand>, <operand>)
 *   aml_lnot:   LNot (<operand>)
 */
void aml_store(struct aml *a);
void aml_and(struct aml *a);
void aml_or(struct aml *a);
void aml_lequal(struct aml *a);
void aml_land(struct aml *a);
void aml_lor(struct aml *a);
void aml_lnot(struct aml *a);
void aml_null_target(struct aml *a);

/* CreateDWordField (Arg<argn>, byte_index, name): a 32-bit field of the
 * buffer passed as method argument `argn`. */
void aml_create_dword_field(struct aml *a, unsigned argn, uint64_t byte_index, const char *name);

/* ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"): the 16-byte Buffer in the
 * mixed-endian order of the ASL macro. Hex digits in either case. */
void aml_touuid(struct aml *a, const char *uuid);

/*
 * ResourceTemplate() { ... }: a Buffer of resource descriptors; aml_end()
 * appends the EndTag (checksum 0, as iasl emits it) before closing it.
 */
struct aml_mark aml_resource_template_begin(struct aml *a);
/* Name(name, ResourceTemplate() { ... }) */
struct aml_mark aml_name_resource_template_begin(struct aml *a, const char *name);
/* IO(Decode16, min, max, align, len) */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags() { irq }: one ISA IRQ 0..15, edge, active-high, exclusive. */
void aml_res_irq_noflags(struct aml *a, unsigned irq);
/* Interrupt(ResourceConsumer/Producer, Edge/Level, ActiveHigh/Low,
 * Exclusive/Shared) { gsi }: flags is an OR of AML_RES_INT_*. */
void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi);
/* Memory32Fixed (ReadWrite/ReadOnly, base, len): a consumed memory range. */
void aml_res_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len);

/*
 * Bridge windows: WordBusNumber / WordIO / DWordMemory / QWordMemory
 * (ResourceProducer, PosDecode, MinFixed, MaxFixed, ...) with _GRA 0, _TRA 0
 * and _LEN = max - min + 1. min > max, or a length the descriptor cannot
 * hold (a whole 16-bit space), latches -EINVAL. WordIO decodes the entire
 * range (EntireRange); mem_flags are AML_RES_MEM_RW | AML_RES_MEM_<cacheability>.
 */
void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_memory(struct aml *a, uint8_t mem_flags, uint32_t min, uint32_t max);
void aml_res_qword_memory(struct aml *a, uint8_t mem_flags, uint64_t min, uint64_t max);

#endif
