/* SPDX-License-Identifier: MIT */
/*
 * Hostile kernel images: the bzImage and ELF loaders parse a user-supplied
 * file, so they get deterministic random mutations of a synthetic valid
 * bzImage and a synthetic valid ELF64 vmlinux (bit flips, header fields set
 * to extreme values, sizes and offsets past the end, overlapping and huge
 * PT_LOAD segments, truncation at every length), each copied into a
 * heap buffer of exactly its length (ASan catches any over-read) and loaded
 * into a 64 MiB guest whose RAM is a heap buffer between canary guards (any
 * write outside guest RAM is caught by ASan or by the canaries), plus tiny
 * guests (no RAM, 1 MiB, 1 MiB + 4 KiB, 2 MiB) for the edge arithmetic.
 *
 * Every call must return 0 or one of the documented negative errnos with a
 * non-empty, single-line, NUL-terminated message (also into short and NULL
 * err buffers); the RAM below 1 MiB must stay untouched; a successful load
 * must describe a kernel that lies inside guest RAM (load address, footprint
 * and entry point) with its bytes where it says they are. A real
 * guest_mem_create() guest must give the same answers.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/hostile_common.h"
#include "vmm/boot_linux.h"
#include "vmm/bootparam.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define MiB (1024ULL * 1024ULL)
#define RAM_SIZE (64 * MiB)
#define GUARD 4096U
#define CANARY 0xc5
#define LOW_PATTERN_LEN (64 * 1024U) /* checked below 1 MiB: the boot structures' side */

#define DEFAULT_MUTATIONS 8000ULL
static const uint64_t default_seeds[] = { 0xb007, 0x1badb002 };

/* ---- a guest whose RAM is a guarded heap buffer ------------------------------- */

struct gguest {
    struct guest_mem gm;
    uint8_t *alloc;
    uint64_t size;
};

static void gguest_init(struct gguest *g, uint64_t size)
{
    memset(g, 0, sizeof(*g));
    g->size = size;
    g->alloc = malloc(size + 2 * GUARD);
    CHECK(g->alloc != NULL);
    if (!g->alloc)
        exit(1);
    memset(g->alloc, CANARY, GUARD);
    memset(g->alloc + GUARD + size, CANARY, GUARD);
    memset(g->alloc + GUARD, 0, size);
    g->gm.fd = -1;
    if (size) {
        g->gm.size = size;
        g->gm.nregions = 1;
        g->gm.regions[0] = (struct guest_mem_region){ .gpa = 0, .size = size,
                                                      .host = g->alloc + GUARD };
    }
    /* A recognisable pattern in the top of the first MiB, where boot structures
     * and the ACPI tables live: loaders must never write there. */
    if (size >= LAYOUT_KERNEL_ADDR)
        for (uint64_t i = 0; i < LOW_PATTERN_LEN; i++)
            g->alloc[GUARD + LAYOUT_KERNEL_ADDR - LOW_PATTERN_LEN + i] = (uint8_t)(i * 13 + 7);
}

static bool gguest_intact(const struct gguest *g)
{
    static uint8_t canary[GUARD], pattern[LOW_PATTERN_LEN];
    if (!canary[0]) {
        memset(canary, CANARY, sizeof(canary));
        for (uint64_t i = 0; i < LOW_PATTERN_LEN; i++)
            pattern[i] = (uint8_t)(i * 13 + 7);
    }
    if (memcmp(g->alloc, canary, GUARD) || memcmp(g->alloc + GUARD + g->size, canary, GUARD))
        return false;
    return g->size < LAYOUT_KERNEL_ADDR ||
           memcmp(g->alloc + GUARD + LAYOUT_KERNEL_ADDR - LOW_PATTERN_LEN, pattern,
                  LOW_PATTERN_LEN) == 0;
}

static void gguest_free(struct gguest *g)
{
    free(g->alloc);
    memset(g, 0, sizeof(*g));
}

/* ---- synthetic images ------------------------------------------------------------ */

#define BZ_SETUP_SECTS 4U
#define BZ_SETUP_SIZE ((BZ_SETUP_SECTS + 1) * 512U)
#define BZ_PAYLOAD 0x1000U
#define BZ_PREF 0x1000000ULL
#define BZ_INIT_SIZE 0x2000000U
#define BZ_LEN (BZ_SETUP_SIZE + BZ_PAYLOAD)

static void put(uint8_t *b, size_t off, uint64_t v, unsigned width)
{
    memcpy(b + off, &v, width); /* little-endian host */
}

/* A protocol 2.15 bzImage: fields at their raw boot.rst offsets. */
static void make_bzimage(uint8_t *b)
{
    memset(b, 0, BZ_LEN);
    b[0x1f1] = BZ_SETUP_SECTS;
    put(b, 0x1f4, BZ_PAYLOAD / 16, 4);    /* syssize */
    put(b, 0x1fe, 0xaa55, 2);             /* boot_flag */
    b[0x200] = 0xeb;
    b[0x201] = 0x6a;                      /* header ends at 0x26c */
    memcpy(b + 0x202, "HdrS", 4);
    put(b, 0x206, 0x020f, 2);             /* version 2.15 */
    b[0x211] = 0x01;                      /* LOADED_HIGH */
    put(b, 0x22c, 0x7fffffff, 4);         /* initrd_addr_max */
    put(b, 0x230, 0x200000, 4);           /* kernel_alignment */
    b[0x234] = 1;                         /* relocatable */
    put(b, 0x236, 0x3, 2);                /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
    put(b, 0x238, 2047, 4);               /* cmdline_size */
    put(b, 0x258, BZ_PREF, 8);            /* pref_address */
    put(b, 0x260, BZ_INIT_SIZE, 4);       /* init_size */
    for (size_t i = 0; i < BZ_PAYLOAD; i++)
        b[BZ_SETUP_SIZE + i] = (uint8_t)(i * 7 + 1);
}

#define KMAP 0xffffffff80000000ULL
#define ELF_NPHDR 4
#define ELF_SEG0_OFF 0x1000U
#define ELF_SEG0_FILESZ 0x2000U
#define ELF_SEG1_OFF 0x3000U
#define ELF_SEG1_FILESZ 0x800U
#define ELF_LEN (ELF_SEG1_OFF + ELF_SEG1_FILESZ)

/* An ET_EXEC laid out like a vmlinux: PT_LOAD, PT_NOTE, PT_LOAD, PT_GNU_STACK. */
static void make_elf(uint8_t *b)
{
    memset(b, 0, ELF_LEN);
    Elf64_Ehdr eh = { 0 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = 0x1000000;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = ELF_NPHDR;
    memcpy(b, &eh, sizeof(eh));
    Elf64_Phdr ph[ELF_NPHDR] = {
        { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = ELF_SEG0_OFF,
          .p_vaddr = KMAP + 0x1000000, .p_paddr = 0x1000000, .p_filesz = ELF_SEG0_FILESZ,
          .p_memsz = ELF_SEG0_FILESZ + 0x3000, .p_align = 0x200000 },
        { .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 0x40, .p_memsz = 0x40 },
        { .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = ELF_SEG1_OFF,
          .p_vaddr = KMAP + 0x1400000, .p_paddr = 0x1400000, .p_filesz = ELF_SEG1_FILESZ,
          .p_memsz = ELF_SEG1_FILESZ, .p_align = 0x200000 },
        { .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W },
    };
    memcpy(b + sizeof(eh), ph, sizeof(ph));
    for (size_t i = 0; i < ELF_SEG0_FILESZ; i++)
        b[ELF_SEG0_OFF + i] = (uint8_t)(i * 3 + 5);
    for (size_t i = 0; i < ELF_SEG1_FILESZ; i++)
        b[ELF_SEG1_OFF + i] = (uint8_t)(0xa0 ^ i);
}

/* ---- one load, all the checks -------------------------------------------------------- */

struct stats {
    unsigned long loads, ok, by_errno[8];
    unsigned long entry_past_code; /* bzImage: startup_64 beyond the copied bytes */
    unsigned long compared_real;
    uint64_t elf_bytes; /* guest RAM the successful ELF loads spanned */
};

static const int documented[] = { ENOEXEC, EPROTONOSUPPORT, ENOTSUP, EBADMSG, ENOMEM, ERANGE };

static bool err_line_ok(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);
    if (n == errlen || (errlen > 1 && n == 0))
        return false; /* not terminated inside the buffer, or empty */
    for (size_t i = 0; i < n; i++)
        if (err[i] == '\n' || err[i] == '\r')
            return false;
    return true;
}

enum which { LOAD_ANY, LOAD_BZ, LOAD_ELF };

static int do_load(enum which w, const struct guest_mem *gm, const void *img, size_t len,
                   struct boot_kernel_info *k, char *err, size_t errlen)
{
    switch (w) {
    case LOAD_BZ: return boot_bzimage_load(gm, img, len, k, err, errlen);
    case LOAD_ELF: return boot_elf_load(gm, img, len, k, err, errlen);
    default: return boot_kernel_load(gm, img, len, k, err, errlen);
    }
}

static uint64_t rd_le(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    memcpy(&v, p, width);
    return v;
}

static void check_bz_success(const struct gguest *g, const uint8_t *img, size_t len,
                             const struct boot_kernel_info *k, struct stats *st)
{
    uint64_t end = g->size < LAYOUT_MMIO_HOLE_START ? g->size : LAYOUT_MMIO_HOLE_START;
    unsigned sects = img[0x1f1] ? img[0x1f1] : 4;
    size_t setup = ((size_t)sects + 1) * 512;
    HCHECK_EQ(k->format, BOOT_KERNEL_BZIMAGE);
    HCHECK(k->version >= 0x020c);
    HCHECK(k->hdr_len <= sizeof(k->hdr));
    HCHECK(k->load_addr >= LAYOUT_KERNEL_ADDR);
    HCHECK(k->load_size > 0 && k->load_size <= end && k->load_addr <= end - k->load_size);
    HCHECK_EQ(k->load_size, rd_le(img + 0x1f4, 4) * 16);
    HCHECK(setup + k->load_size <= len);
    HCHECK_EQ(k->footprint_start, k->load_addr);
    HCHECK(k->footprint_end >= k->load_addr + k->load_size);
    HCHECK(k->footprint_end <= end);
    HCHECK_EQ(k->entry, k->load_addr + BP_STARTUP_64_OFFSET);
    HCHECK(k->entry < end); /* the vCPU starts in RAM */
    if (k->entry >= k->load_addr + k->load_size)
        st->entry_past_code++; /* syssize too small to hold startup_64: see report */
    HCHECK_EQ(k->cmdline_max, rd_le(img + 0x238, 4));
    if (k->load_size <= end && k->load_addr <= end - k->load_size && setup + k->load_size <= len) {
        const uint8_t *dst = guest_mem_ptr(&g->gm, k->load_addr, k->load_size);
        HCHECK(dst && memcmp(dst, img + setup, k->load_size) == 0);
    }
}

static void check_elf_success(const struct gguest *g, const uint8_t *img, size_t len,
                              const struct boot_kernel_info *k)
{
    uint64_t end = g->size < LAYOUT_MMIO_HOLE_START ? g->size : LAYOUT_MMIO_HOLE_START;
    HCHECK_EQ(k->format, BOOT_KERNEL_ELF);
    HCHECK(k->footprint_start >= LAYOUT_KERNEL_ADDR);
    HCHECK(k->footprint_start < k->footprint_end);
    HCHECK(k->footprint_end <= end);
    HCHECK_EQ(k->load_addr, k->footprint_start);
    HCHECK(k->entry >= k->footprint_start && k->entry < k->footprint_end);
    HCHECK_EQ(k->hdr.init_size, k->footprint_end - k->footprint_start);
    HCHECK_EQ(k->hdr.pref_address, k->footprint_start);

    /* The last PT_LOAD is written last, so its bytes (and bss) are what it says. */
    Elf64_Ehdr eh;
    memcpy(&eh, img, sizeof(eh));
    for (int i = (int)eh.e_phnum - 1; i >= 0; i--) {
        Elf64_Phdr ph;
        memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        HCHECK(ph.p_paddr >= k->footprint_start && ph.p_paddr + ph.p_memsz <= k->footprint_end);
        const uint8_t *dst = guest_mem_ptr(&g->gm, ph.p_paddr, ph.p_memsz);
        HCHECK(dst != NULL);
        if (dst) {
            HCHECK(memcmp(dst, img + ph.p_offset, ph.p_filesz) == 0);
            bool zero = true;
            uint64_t bss = ph.p_memsz - ph.p_filesz;
            uint64_t probe = bss < 4096 ? bss : 4096; /* enough to see the memset ran */
            for (uint64_t j = 0; j < probe; j++)
                zero &= dst[ph.p_filesz + j] == 0;
            for (uint64_t j = bss > probe ? bss - probe : 0; j < bss; j++)
                zero &= dst[ph.p_filesz + j] == 0;
            HCHECK(zero);
        }
        break;
    }
}

/*
 * Load `img` (len bytes, copied to an exact-size heap buffer) into g and check
 * everything. `real` (may be NULL) is a guest_mem_create() guest of the same
 * size whose answer must match. Returns the result.
 */
static int load_and_check(enum which w, struct gguest *g, const struct guest_mem *real,
                          const uint8_t *img, size_t len, struct hostile_rng *r, struct stats *st)
{
    uint8_t *exact = malloc(len ? len : 1);
    if (len)
        memcpy(exact, img, len);
    struct boot_kernel_info k;
    char err[BOOT_ERR_MAX];
    memset(err, 0, sizeof(err));
    int ret = do_load(w, &g->gm, exact, len, &k, err, sizeof(err));
    st->loads++;

    HCHECK(ret <= 0);
    if (ret < 0) {
        bool known = false;
        for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
            if (-ret == documented[i]) {
                known = true;
                st->by_errno[i]++;
            }
        if (!known)
            fprintf(stderr, "undocumented errno %d: %s\n", ret, err);
        HCHECK(known);
        HCHECK(err_line_ok(err, sizeof(err)));
        /* Short and absent err buffers: same answer, no overflow (ASan), still
         * terminated. */
        size_t small = 1 + (size_t)hostile_below(r, 24);
        char *sbuf = malloc(small);
        struct boot_kernel_info k2;
        HCHECK_EQ(do_load(w, &g->gm, exact, len, &k2, sbuf, small), ret);
        HCHECK(strnlen(sbuf, small) < small);
        HCHECK(small == 1 || strncmp(sbuf, err, small - 1) == 0);
        free(sbuf);
        HCHECK_EQ(do_load(w, &g->gm, exact, len, &k2, NULL, 0), ret);
    } else {
        st->ok++;
        if (k.format == BOOT_KERNEL_ELF) {
            check_elf_success(g, exact, len, &k);
            st->elf_bytes += k.footprint_end - k.footprint_start;
        }
        else
            check_bz_success(g, exact, len, &k, st);
    }
    HCHECK(gguest_intact(g));

    if (real) {
        struct boot_kernel_info kr;
        char err2[BOOT_ERR_MAX];
        err2[0] = 0;
        int ret2 = do_load(w, real, exact, len, &kr, err2, sizeof(err2));
        HCHECK_EQ(ret2, ret);
        HCHECK(strcmp(err, err2) == 0 || ret == 0);
        if (ret == 0 && ret2 == 0) {
            HCHECK_EQ(kr.entry, k.entry);
            HCHECK_EQ(kr.load_addr, k.load_addr);
            HCHECK_EQ(kr.footprint_end, k.footprint_end);
        }
        st->compared_real++;
    }
    free(exact);
    return ret;
}

/* ---- mutators ----------------------------------------------------------------------- */

static uint64_t extreme(struct hostile_rng *r, unsigned width, uint64_t ram)
{
    uint64_t max = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
    uint64_t v;
    switch (hostile_below(r, 16)) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = max; break;
    case 3: v = max - 1; break;
    case 4: v = max >> 1; break;          /* 0x7fff... */
    case 5: v = (max >> 1) + 1; break;    /* 0x8000... */
    case 6: v = ram; break;
    case 7: v = ram - 1 - hostile_below(r, 0x400); break;
    case 8: v = LAYOUT_KERNEL_ADDR - hostile_below(r, 2); break;
    case 9: v = 1ULL << hostile_below(r, 8 * width); break;
    case 10: v = (1ULL << hostile_below(r, 8 * width)) - 1; break;
    case 11: v = 0xffffffffULL; break;
    case 12: v = LAYOUT_MMIO_HOLE_START + hostile_below(r, 2); break;
    case 13: v = hostile_below(r, 0x10000); break;
    default: v = hostile_next(r); break;
    }
    return v & max;
}

struct field {
    uint32_t off;
    uint8_t width;
};

/* Every setup header field a loader reads, and some it copies. */
static const struct field bz_fields[] = {
    { 0x1f1, 1 }, { 0x1f4, 4 }, { 0x1fe, 2 }, { 0x200, 1 }, { 0x201, 1 }, { 0x202, 4 },
    { 0x206, 2 }, { 0x211, 1 }, { 0x22c, 4 }, { 0x230, 4 }, { 0x234, 1 }, { 0x235, 1 },
    { 0x236, 2 }, { 0x238, 4 }, { 0x250, 8 }, { 0x258, 8 }, { 0x260, 4 }, { 0x264, 4 },
    { 0x268, 4 },
};

static size_t mutate_bz(struct hostile_rng *r, uint8_t *b, size_t cap)
{
    size_t len = BZ_LEN;
    make_bzimage(b);
    unsigned n = 1 + (unsigned)hostile_below(r, 4);
    for (unsigned i = 0; i < n; i++) {
        switch (hostile_below(r, 10)) {
        case 0: case 1: { /* bit flips, mostly in the header */
            for (unsigned j = 0, f = 1 + (unsigned)hostile_below(r, 8); j < f; j++) {
                size_t at = hostile_chance(r, 3, 4) ? 0x1f1 + hostile_below(r, 0x26c - 0x1f1)
                                                     : hostile_below(r, len);
                b[at] ^= (uint8_t)(1u << hostile_below(r, 8));
            }
            break;
        }
        case 2: case 3: case 4: case 5: { /* a field to an extreme */
            const struct field *f = &bz_fields[hostile_below(r, sizeof(bz_fields) / sizeof(bz_fields[0]))];
            put(b, f->off, extreme(r, f->width, RAM_SIZE), f->width);
            break;
        }
        case 6: /* syssize past, at or just inside the end */
            put(b, 0x1f4, (len - BZ_SETUP_SIZE) / 16 + hostile_below(r, 3) - 1, 4);
            break;
        case 7: /* setup_sects around the file size */
            b[0x1f1] = (uint8_t)(len / 512 - 1 + hostile_below(r, 3) - 1);
            break;
        case 8: /* truncate */
            len = hostile_below(r, len + 1);
            break;
        default: /* extend with junk */
            if (len < cap) {
                size_t add = hostile_below(r, cap - len + 1);
                for (size_t j = 0; j < add; j++)
                    b[len + j] = (uint8_t)hostile_next(r);
                len += add;
            }
            break;
        }
    }
    return len;
}

static size_t mutate_elf(struct hostile_rng *r, uint8_t *b, size_t cap)
{
    size_t len = ELF_LEN;
    make_elf(b);
    Elf64_Ehdr eh;
    unsigned n = 1 + (unsigned)hostile_below(r, 4);
    for (unsigned i = 0; i < n; i++) {
        memcpy(&eh, b, sizeof(eh));
        unsigned nph = eh.e_phnum;
        /* Program headers we may edit: those that lie inside the buffer. */
        size_t phroom = eh.e_phoff < cap ? (cap - eh.e_phoff) / sizeof(Elf64_Phdr) : 0;
        unsigned editable = nph < phroom ? nph : (unsigned)phroom;
        uint64_t k = hostile_below(r, 16);
        if (k < 2) { /* bit flips in the headers */
            size_t hdr_bytes = sizeof(Elf64_Ehdr) + ELF_NPHDR * sizeof(Elf64_Phdr);
            for (unsigned j = 0, f = 1 + (unsigned)hostile_below(r, 6); j < f; j++)
                b[hostile_below(r, hdr_bytes)] ^= (uint8_t)(1u << hostile_below(r, 8));
        } else if (k < 5) { /* an ELF header field */
            switch (hostile_below(r, 9)) {
            case 0: eh.e_ident[hostile_below(r, EI_NIDENT)] = (uint8_t)hostile_next(r); break;
            case 1: eh.e_type = (uint16_t)extreme(r, 2, RAM_SIZE); break;
            case 2: eh.e_machine = (uint16_t)extreme(r, 2, RAM_SIZE); break;
            case 3: eh.e_entry = extreme(r, 8, RAM_SIZE); break;
            case 4: eh.e_phoff = hostile_chance(r, 1, 2) ? extreme(r, 8, RAM_SIZE)
                                                         : len - hostile_below(r, 3 * sizeof(Elf64_Phdr));
                break;
            case 5: eh.e_phentsize = (uint16_t)extreme(r, 2, RAM_SIZE); break;
            case 6: eh.e_phnum = (uint16_t)extreme(r, 2, RAM_SIZE); break;
            case 7: eh.e_entry = KMAP + 0x1000000 + hostile_below(r, 0x6000); break; /* virtual */
            default: eh.e_entry = 0x1400000 + hostile_below(r, 0x1000) - 0x400; break;
            }
            memcpy(b, &eh, sizeof(eh));
        } else if (k < 12 && editable) { /* a program header field */
            unsigned idx = (unsigned)hostile_below(r, editable);
            Elf64_Phdr ph;
            size_t at = eh.e_phoff + (size_t)idx * sizeof(ph);
            memcpy(&ph, b + at, sizeof(ph));
            switch (hostile_below(r, 10)) {
            case 0: ph.p_type = hostile_chance(r, 1, 2) ? PT_LOAD : (uint32_t)hostile_next(r); break;
            case 1: ph.p_offset = extreme(r, 8, len); break;
            case 2: ph.p_vaddr = extreme(r, 8, RAM_SIZE); break;
            case 3: ph.p_paddr = extreme(r, 8, RAM_SIZE); break;
            case 4: ph.p_filesz = extreme(r, 8, len); break;
            case 5: /* huge but (maybe) still fitting .bss */
                /* (an exact fit is rare: each success memsets up to 63 MiB) */
                ph.p_memsz = hostile_chance(r, 7, 8) ? extreme(r, 8, RAM_SIZE)
                                                     : RAM_SIZE - ph.p_paddr - hostile_below(r, 2);
                break;
            case 6: /* up to the end of RAM, exactly or one past */
                ph.p_paddr = RAM_SIZE - ph.p_memsz + hostile_below(r, 2);
                break;
            case 7: { /* overlap another segment */
                Elf64_Phdr other;
                memcpy(&other, b + eh.e_phoff + hostile_below(r, editable) * sizeof(ph), sizeof(ph));
                ph.p_paddr = other.p_paddr + hostile_below(r, 0x2000);
                ph.p_type = PT_LOAD;
                break;
            }
            case 8: /* file range at or past the end */
                ph.p_offset = len - hostile_below(r, 0x100);
                ph.p_filesz = hostile_below(r, 0x200);
                if (ph.p_memsz < ph.p_filesz && hostile_chance(r, 1, 2))
                    ph.p_memsz = ph.p_filesz;
                break;
            default: /* filesz vs memsz */
                ph.p_filesz = ph.p_memsz + hostile_below(r, 3) - 1;
                break;
            }
            memcpy(b + at, &ph, sizeof(ph));
        } else if (k < 14) { /* many program headers: e_phnum covers the data too */
            eh.e_phnum = (uint16_t)((len - eh.e_phoff) / sizeof(Elf64_Phdr) + hostile_below(r, 2));
            memcpy(b, &eh, sizeof(eh));
        } else if (k < 15) {
            len = hostile_below(r, len + 1);
        } else if (len < cap) {
            size_t add = hostile_below(r, cap - len + 1);
            for (size_t j = 0; j < add; j++)
                b[len + j] = (uint8_t)hostile_next(r);
            len += add;
        }
    }
    return len;
}

/* ---- drivers ------------------------------------------------------------------------ */

static void truncations(struct gguest *g, const struct guest_mem *real, struct stats *st,
                        struct hostile_rng *r)
{
    static uint8_t bz[BZ_LEN], elf[ELF_LEN];
    make_bzimage(bz);
    make_elf(elf);
    hostile_cur_what = "bzImage truncation";
    for (size_t len = 0; len <= BZ_LEN; len++) {
        hostile_cur_step = len;
        int ret = load_and_check(LOAD_ANY, g, len % 64 == 0 ? real : NULL, bz, len, r, st);
        HCHECK_EQ(ret == 0, len == BZ_LEN);
    }
    hostile_cur_what = "ELF truncation";
    for (size_t len = 0; len <= ELF_LEN; len++) {
        hostile_cur_step = len;
        int ret = load_and_check(LOAD_ANY, g, len % 64 == 0 ? real : NULL, elf, len, r, st);
        HCHECK_EQ(ret == 0, len == ELF_LEN);
    }
    /* Each format's loader handed the other format, or nothing at all. */
    hostile_cur_what = "cross-format";
    load_and_check(LOAD_ELF, g, NULL, bz, BZ_LEN, r, st);
    load_and_check(LOAD_BZ, g, NULL, elf, ELF_LEN, r, st);
    load_and_check(LOAD_BZ, g, NULL, bz, 0, r, st);
    load_and_check(LOAD_ELF, g, NULL, elf, 0, r, st);
}

#define MUT_CAP 0x8000U

static void mutations(struct gguest *g, const struct guest_mem *real, uint64_t seed,
                      uint64_t count, struct stats *st)
{
    static uint8_t buf[MUT_CAP];
    struct hostile_rng r;
    hostile_rng_seed(&r, seed);
    hostile_cur_seed = seed;
    for (uint64_t i = 0; i < count; i++) {
        hostile_cur_step = i;
        bool elf = i & 1;
        hostile_cur_what = elf ? "ELF mutation" : "bzImage mutation";
        size_t len = elf ? mutate_elf(&r, buf, MUT_CAP) : mutate_bz(&r, buf, MUT_CAP);
        enum which w = hostile_chance(&r, 1, 8) ? (elf ? LOAD_ELF : LOAD_BZ) : LOAD_ANY;
        load_and_check(w, g, i % 16 == 0 ? real : NULL, buf, len, &r, st);
    }
}

static void tiny_guests(uint64_t seed, struct stats *st)
{
    static const uint64_t sizes[] = { 0, LAYOUT_KERNEL_ADDR, LAYOUT_KERNEL_ADDR + 4096, 2 * MiB };
    static uint8_t buf[MUT_CAP];
    struct hostile_rng r;
    hostile_rng_seed(&r, seed ^ 0x7);
    hostile_cur_seed = seed ^ 0x7;
    hostile_cur_what = "tiny guest";
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct gguest g;
        gguest_init(&g, sizes[s]);
        for (uint64_t i = 0; i < 400; i++) {
            hostile_cur_step = s * 1000 + i;
            size_t len = (i & 1) ? mutate_elf(&r, buf, MUT_CAP) : mutate_bz(&r, buf, MUT_CAP);
            if (i < 2) { /* the unmutated images too */
                len = (i & 1) ? ELF_LEN : BZ_LEN;
                if (i & 1)
                    make_elf(buf);
                else
                    make_bzimage(buf);
            }
            int ret = load_and_check(LOAD_ANY, &g, NULL, buf, len, &r, st);
            if (sizes[s] <= LAYOUT_KERNEL_ADDR)
                HCHECK(ret != 0); /* no RAM above 1 MiB: nothing can load */
        }
        gguest_free(&g);
    }
}

/*
 * Regression BZ-1 (found here): the bzImage loader did not check that the
 * protected-mode code reaches startup_64 (load + 0x200). With init_size 0 and
 * syssize 1 (16 bytes) a non-relocatable image whose pref_address is 16 bytes
 * below the end of RAM is accepted with entry = pref + 0x200, i.e. outside
 * guest RAM (and outside what was loaded). Not a host crash (the vCPU faults),
 * but the loader returned success for a kernel it cannot enter.
 */
static void test_regression_bz_entry(void)
{
    struct gguest g;
    uint8_t b[BZ_LEN];
    struct boot_kernel_info k;
    char err[BOOT_ERR_MAX] = "";

    hostile_cur_what = "BZ-1";
    gguest_init(&g, RAM_SIZE);
    make_bzimage(b);
    put(b, 0x1f4, 1, 4);                 /* syssize: 16 bytes of code */
    put(b, 0x260, 0, 4);                 /* init_size 0 */
    b[0x234] = 0;                        /* not relocatable */
    put(b, 0x258, RAM_SIZE - 16, 8);     /* pref_address: the last 16 bytes of RAM */
    int ret = boot_bzimage_load(&g.gm, b, sizeof(b), &k, err, sizeof(err));
    bool bad = ret == 0 && k.entry >= RAM_SIZE;
    char what[256];
    snprintf(what, sizeof(what),
             "bzImage syssize=1 init_size=0 relocatable=0 pref_address=RAM_end-16 -> ret %d, "
             "load 0x%llx, entry 0x%llx (RAM ends at 0x%llx; vmm/boot_bzimage.c "
             "boot_bzimage_load does not require syssize*16 > 0x200)",
             ret, (unsigned long long)k.load_addr, (unsigned long long)k.entry,
             (unsigned long long)RAM_SIZE);
    hostile_regression("BZ-1", bad, what);
    CHECK(gguest_intact(&g));
    gguest_free(&g);
}

int main(void)
{
    uint64_t count = hostile_env_u64("SLUICE_HOSTILE_ITERS", DEFAULT_MUTATIONS);
    uint64_t only = hostile_env_u64("SLUICE_HOSTILE_SEED", 0);
    size_t nseeds = only ? 1 : sizeof(default_seeds) / sizeof(default_seeds[0]);
    struct stats st = { 0 };
    struct gguest g;
    struct guest_mem real;
    double t0 = hostile_now_s();

    gguest_init(&g, RAM_SIZE);
    CHECK_EQ(guest_mem_create(&real, RAM_SIZE, false), 0);
    {
        struct hostile_rng r;
        hostile_rng_seed(&r, 1);
        hostile_cur_seed = 1;
        truncations(&g, &real, &st, &r);
    }
    double t1 = hostile_now_s();
    for (size_t i = 0; i < nseeds; i++) {
        uint64_t seed = only ? only : default_seeds[i];
        double ts = hostile_now_s();
        unsigned long ok0 = st.ok, loads0 = st.loads;
        mutations(&g, &real, seed, count, &st);
        tiny_guests(seed, &st);
        fprintf(stderr, "seed 0x%llx: %llu mutations + 1600 tiny-guest loads in %.2f s, %lu of %lu loads succeeded\n",
                (unsigned long long)seed, (unsigned long long)count, hostile_now_s() - ts,
                st.ok - ok0, st.loads - loads0);
    }
    guest_mem_destroy(&real);
    gguest_free(&g);
    test_regression_bz_entry();

    fprintf(stderr,
            "truncations in %.2f s; total %lu loads, %lu ok; ENOEXEC %lu EPROTONOSUPPORT %lu "
            "ENOTSUP %lu EBADMSG %lu ENOMEM %lu ERANGE %lu; %lu compared with guest_mem_create; "
            "%lu bzImage loads had startup_64 past the copied code; ELF loads spanned %llu MiB; "
            "total %.2f s\n",
            t1 - t0, st.loads, st.ok, st.by_errno[0], st.by_errno[1], st.by_errno[2],
            st.by_errno[3], st.by_errno[4], st.by_errno[5], st.compared_real,
            st.entry_past_code, (unsigned long long)(st.elf_bytes >> 20), hostile_now_s() - t0);
    return check_result("test_hostile_boot");
}
