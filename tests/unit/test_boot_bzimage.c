/* SPDX-License-Identifier: MIT */
/*
 * bzImage loading: setup header checks on synthetic images (good and
 * corrupted), load address choice, initrd placement, command line limits,
 * boot_params contents after a full boot_linux_load() from files, and a real
 * distribution kernel when one is on this machine.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "vmm/boot_linux.h"
#include "vmm/bootparam.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define MiB (1024ULL * 1024ULL)
#define TEST_PREF 0x1000000ULL      /* LOAD_PHYSICAL_ADDR of a typical kernel: 16 MiB */
#define TEST_INIT_SIZE 0x2000000U   /* 32 MiB */
#define TEST_ALIGN 0x200000U
#define TEST_CMDLINE_SIZE 2047U
#define TEST_PAYLOAD 0x4000U
#define TEST_JUMP_215 0x6aU         /* header ends at 0x26c (protocol 2.15) */
#define TEST_JUMP_212 0x66U         /* header ends at 0x268 (protocol 2.12..2.14) */

static uint8_t payload_byte(size_t i)
{
    return (uint8_t)(i * 7 + 1);
}

struct image {
    uint8_t *buf;
    size_t len;
    size_t setup_size;
};

/* A good protocol-2.15 bzImage with setup_sects real sectors of setup and a
 * TEST_PAYLOAD-byte protected-mode part. Fields are written at their raw
 * boot.rst offsets, independently of struct bp_setup_header. */
static struct image make_bzimage(unsigned setup_sects_field, size_t payload)
{
    unsigned sects = setup_sects_field ? setup_sects_field : 4;
    struct image im;
    im.setup_size = (sects + 1) * 512;
    im.len = im.setup_size + payload;
    im.buf = calloc(1, im.len);
    uint8_t *b = im.buf;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    b[0x1f1] = (uint8_t)setup_sects_field;
    u32 = (uint32_t)(payload / 16); memcpy(b + 0x1f4, &u32, 4);        /* syssize */
    u16 = 0xaa55; memcpy(b + 0x1fe, &u16, 2);                           /* boot_flag */
    b[0x200] = 0xeb; b[0x201] = TEST_JUMP_215;                          /* jump */
    memcpy(b + 0x202, "HdrS", 4);                                       /* header */
    u16 = 0x020f; memcpy(b + 0x206, &u16, 2);                           /* version */
    b[0x211] = 0x01;                                                    /* loadflags: LOADED_HIGH */
    u32 = 0x7fffffff; memcpy(b + 0x22c, &u32, 4);                       /* initrd_addr_max */
    u32 = TEST_ALIGN; memcpy(b + 0x230, &u32, 4);                       /* kernel_alignment */
    b[0x234] = 1;                                                       /* relocatable_kernel */
    u16 = 0x1 | 0x2; memcpy(b + 0x236, &u16, 2);                        /* xloadflags: KERNEL_64 | ABOVE_4G */
    u32 = TEST_CMDLINE_SIZE; memcpy(b + 0x238, &u32, 4);                /* cmdline_size */
    u64 = TEST_PREF; memcpy(b + 0x258, &u64, 8);                        /* pref_address */
    u32 = TEST_INIT_SIZE; memcpy(b + 0x260, &u32, 4);                   /* init_size */
    u32 = 0x12345; memcpy(b + 0x268, &u32, 4);                          /* kernel_info_offset */
    for (size_t i = 0; i < payload; i++)
        b[im.setup_size + i] = payload_byte(i);
    return im;
}

static void put16(struct image *im, size_t off, uint16_t v) { memcpy(im->buf + off, &v, 2); }
static void put32(struct image *im, size_t off, uint32_t v) { memcpy(im->buf + off, &v, 4); }
static void put64(struct image *im, size_t off, uint64_t v) { memcpy(im->buf + off, &v, 8); }

static int load(const struct guest_mem *gm, const struct image *im, struct boot_kernel_info *k,
                char *err)
{
    err[0] = 0;
    return boot_kernel_load(gm, im->buf, im->len, k, err, BOOT_ERR_MAX);
}

static void test_good(const struct guest_mem *gm)
{
    struct image im = make_bzimage(27, TEST_PAYLOAD);
    struct boot_kernel_info k;
    char err[BOOT_ERR_MAX];

    CHECK_EQ(load(gm, &im, &k, err), 0);
    CHECK_EQ(k.format, BOOT_KERNEL_BZIMAGE);
    CHECK_EQ(k.version, 0x020f);
    CHECK_EQ(k.load_addr, TEST_PREF);
    CHECK_EQ(k.load_size, TEST_PAYLOAD);
    CHECK_EQ(k.entry, TEST_PREF + 0x200);
    CHECK_EQ(k.footprint_start, TEST_PREF);
    CHECK_EQ(k.footprint_end, TEST_PREF + TEST_INIT_SIZE);
    CHECK_EQ(k.cmdline_max, TEST_CMDLINE_SIZE);
    CHECK_EQ(k.initrd_addr_max, 0x7fffffff);
    CHECK_EQ(k.hdr_len, 0x26c - 0x1f1);
    CHECK_EQ(k.hdr.kernel_info_offset, 0x12345);
    const uint8_t *g = guest_mem_ptr(gm, TEST_PREF, TEST_PAYLOAD);
    CHECK(g != NULL);
    int same = 1;
    for (size_t i = 0; g && i < TEST_PAYLOAD; i++)
        same &= g[i] == payload_byte(i);
    CHECK(same);
    free(im.buf);

    /* setup_sects 0 means 4: the payload starts at 5 * 512. */
    im = make_bzimage(0, TEST_PAYLOAD);
    CHECK_EQ(im.setup_size, 5 * 512);
    CHECK_EQ(load(gm, &im, &k, err), 0);
    g = guest_mem_ptr(gm, TEST_PREF, 1);
    CHECK(g && g[0] == payload_byte(0) && g[1] == payload_byte(1));
    free(im.buf);

    /* A 2.12 header ends at 0x268: bytes past it are not header. */
    im = make_bzimage(4, TEST_PAYLOAD);
    put16(&im, 0x206, 0x020c);
    im.buf[0x201] = TEST_JUMP_212;
    CHECK_EQ(load(gm, &im, &k, err), 0);
    CHECK_EQ(k.hdr_len, 0x268 - 0x1f1);
    CHECK_EQ(k.hdr.kernel_info_offset, 0);
    free(im.buf);

    /* Appended data (e.g. a signature) after syssize * 16 is not loaded. */
    im = make_bzimage(4, TEST_PAYLOAD);
    put32(&im, 0x1f4, (TEST_PAYLOAD - 0x100) / 16);
    CHECK_EQ(load(gm, &im, &k, err), 0);
    CHECK_EQ(k.load_size, TEST_PAYLOAD - 0x100);
    free(im.buf);
}

static void expect_fail(const struct guest_mem *gm, struct image *im, int want, const char *msg)
{
    struct boot_kernel_info k;
    char err[BOOT_ERR_MAX];
    int ret = load(gm, im, &k, err);

    CHECK_EQ(ret, want);
    if (!strstr(err, msg)) {
        fprintf(stderr, "expected \"%s\" in \"%s\"\n", msg, err);
        CHECK(strstr(err, msg) != NULL);
    }
    CHECK(strchr(err, '\n') == NULL);
    free(im->buf);
}

static void test_corrupt(const struct guest_mem *gm)
{
    struct image im;

    im = make_bzimage(4, TEST_PAYLOAD);
    put16(&im, 0x1fe, 0x55aa);
    expect_fail(gm, &im, -ENOEXEC, "not a bzImage or ELF vmlinux");

    im = make_bzimage(4, TEST_PAYLOAD);
    memcpy(im.buf + 0x202, "HdrX", 4);
    expect_fail(gm, &im, -ENOEXEC, "not a bzImage or ELF vmlinux");

    im = make_bzimage(4, TEST_PAYLOAD);
    im.len = 100;
    expect_fail(gm, &im, -ENOEXEC, "not a bzImage or ELF vmlinux");

    im = make_bzimage(4, TEST_PAYLOAD);
    im.len = 0;
    expect_fail(gm, &im, -ENOEXEC, "not a bzImage or ELF vmlinux");

    im = make_bzimage(4, TEST_PAYLOAD);
    put16(&im, 0x206, 0x020a);
    {
        struct boot_kernel_info k;
        char err[BOOT_ERR_MAX];
        CHECK_EQ(load(gm, &im, &k, err), -EPROTONOSUPPORT);
        CHECK_STREQ(err, "boot protocol 2.10 too old for 64-bit entry (need 2.12)");
        free(im.buf);
    }

    im = make_bzimage(4, TEST_PAYLOAD);
    put16(&im, 0x236, 0x2);
    expect_fail(gm, &im, -ENOTSUP, "XLF_KERNEL_64");

    im = make_bzimage(4, TEST_PAYLOAD);
    im.buf[0x211] = 0;
    expect_fail(gm, &im, -ENOTSUP, "LOADED_HIGH");

    /* File ends inside the setup header. */
    im = make_bzimage(4, TEST_PAYLOAD);
    im.len = 0x220;
    expect_fail(gm, &im, -EBADMSG, "truncated setup header");
    im = make_bzimage(4, TEST_PAYLOAD);
    im.len = 0x204;
    expect_fail(gm, &im, -EBADMSG, "truncated setup header");

    /* Header (per its jump) too short for a 2.12+ loader. */
    im = make_bzimage(4, TEST_PAYLOAD);
    im.buf[0x201] = 0x40;
    expect_fail(gm, &im, -EBADMSG, "truncated setup header");

    /* setup_sects pointing past EOF. */
    im = make_bzimage(4, TEST_PAYLOAD);
    im.buf[0x1f1] = 200;
    expect_fail(gm, &im, -EBADMSG, "setup_sects 200 points past end of file");

    /* syssize larger than the file. */
    im = make_bzimage(4, TEST_PAYLOAD);
    put32(&im, 0x1f4, TEST_PAYLOAD / 16 + 1);
    expect_fail(gm, &im, -EBADMSG, "truncated file");
    im = make_bzimage(4, TEST_PAYLOAD);
    im.len -= 1;
    expect_fail(gm, &im, -EBADMSG, "truncated file");

    im = make_bzimage(4, TEST_PAYLOAD);
    put32(&im, 0x1f4, 0);
    expect_fail(gm, &im, -EBADMSG, "syssize is 0");

    im = make_bzimage(4, TEST_PAYLOAD);
    put32(&im, 0x230, 0x300000);
    expect_fail(gm, &im, -EBADMSG, "kernel_alignment 0x300000 is not a power of two");
}

static void test_placement(void)
{
    struct guest_mem small;
    struct boot_kernel_info k;
    char err[BOOT_ERR_MAX];
    struct image im;

    CHECK_EQ(guest_mem_create(&small, 64 * MiB, false), 0);

    /* init_size larger than RAM. */
    im = make_bzimage(4, TEST_PAYLOAD);
    put32(&im, 0x260, 0x10000000);
    expect_fail(&small, &im, -ENOMEM, "init_size");

    /* pref_address not aligned to kernel_alignment: load at 1 MiB; the kernel
     * still runs at >= pref_address, so the footprint reaches past it. */
    im = make_bzimage(4, TEST_PAYLOAD);
    put64(&im, 0x258, 0x1100000);
    put32(&im, 0x230, 0x1000000);
    CHECK_EQ(load(&small, &im, &k, err), 0);
    CHECK_EQ(k.load_addr, LAYOUT_KERNEL_ADDR);
    CHECK_EQ(k.entry, LAYOUT_KERNEL_ADDR + 0x200);
    CHECK_EQ(k.footprint_start, LAYOUT_KERNEL_ADDR);
    CHECK_EQ(k.footprint_end, 0x1100000 + TEST_INIT_SIZE);
    free(im.buf);

    /* pref_address below 1 MiB: load at 1 MiB, runtime at align_up(1 MiB). */
    im = make_bzimage(4, TEST_PAYLOAD);
    put64(&im, 0x258, 0x80000);
    CHECK_EQ(load(&small, &im, &k, err), 0);
    CHECK_EQ(k.load_addr, LAYOUT_KERNEL_ADDR);
    CHECK_EQ(k.footprint_end, TEST_ALIGN + TEST_INIT_SIZE);
    free(im.buf);

    /* pref + init_size beyond RAM but 1 MiB + ... fits: relocatable falls back
     * only if runtime (>= pref) still fits, which here it does not. */
    im = make_bzimage(4, TEST_PAYLOAD);
    put64(&im, 0x258, 0x3000000);
    expect_fail(&small, &im, -ENOMEM, "guest RAM below 4 GiB ends at 0x4000000");

    /* Non-relocatable kernel whose pref_address does not fit. */
    im = make_bzimage(4, TEST_PAYLOAD);
    im.buf[0x234] = 0;
    put64(&im, 0x258, 0x3000000);
    expect_fail(&small, &im, -ENOMEM, "non-relocatable");

    /* Non-relocatable kernel that fits: loaded at pref even if unaligned. */
    im = make_bzimage(4, TEST_PAYLOAD);
    im.buf[0x234] = 0;
    put64(&im, 0x258, 0x1100000);
    put32(&im, 0x230, 0x1000000);
    CHECK_EQ(load(&small, &im, &k, err), 0);
    CHECK_EQ(k.load_addr, 0x1100000);
    free(im.buf);

    guest_mem_destroy(&small);
}

static void test_initrd_place(void)
{
    uint64_t a = 0;
    const uint64_t ram = 256 * MiB;

    /* Highest page-aligned address below the end of RAM. */
    CHECK_EQ(boot_initrd_place(0x1234, 0x7fffffff, ram, TEST_PREF, TEST_PREF + TEST_INIT_SIZE, &a), 0);
    CHECK_EQ(a, (ram - 0x1234) & ~0xfffULL);
    CHECK_EQ(a % 4096, 0);
    CHECK(a + 0x1234 <= ram);

    /* Below initrd_addr_max (inclusive) when that is lower. */
    CHECK_EQ(boot_initrd_place(0x100000, 0x37ffffff, 2048 * MiB, TEST_PREF, TEST_PREF + TEST_INIT_SIZE, &a), 0);
    CHECK_EQ(a, 0x38000000 - 0x100000);
    CHECK_EQ(boot_initrd_place(0x100001, 0x37ffffff, 2048 * MiB, 0, 0, &a), 0);
    CHECK(a + 0x100001 - 1 <= 0x37ffffff);
    CHECK_EQ(a, (0x38000000 - 0x100001) & ~0xfffULL);
    CHECK_EQ(boot_initrd_place(0x1000, UINT64_MAX, ram, 0, 0, &a), 0);
    CHECK_EQ(a, ram - 0x1000);

    /* Would overlap the kernel: goes right below it. */
    CHECK_EQ(boot_initrd_place(8 * MiB, 0x7fffffff, 50 * MiB, 16 * MiB, 48 * MiB, &a), 0);
    CHECK_EQ(a, 8 * MiB);
    /* Fits above the kernel exactly. */
    CHECK_EQ(boot_initrd_place(8 * MiB, 0x7fffffff, 56 * MiB, 16 * MiB, 48 * MiB, &a), 0);
    CHECK_EQ(a, 48 * MiB);

    /* Too big. */
    CHECK_EQ(boot_initrd_place(300 * MiB, 0x7fffffff, ram, 0, 0, &a), -ENOMEM);
    CHECK_EQ(boot_initrd_place(20 * MiB, 0x7fffffff, 64 * MiB, 16 * MiB, 48 * MiB, &a), -ENOMEM);
    /* Never below 1 MiB (boot structures, command line, ACPI). */
    CHECK_EQ(boot_initrd_place(2 * MiB, 0x7fffffff, 64 * MiB, 2 * MiB, 64 * MiB, &a), -ENOMEM);
    CHECK_EQ(boot_initrd_place(0, 0x7fffffff, ram, 0, 0, &a), -EINVAL);
}

static void test_cmdline(const struct guest_mem *gm)
{
    char err[BOOT_ERR_MAX];
    uint32_t len = 0;
    const char *s = guest_mem_ptr(gm, LAYOUT_CMDLINE_ADDR, LAYOUT_CMDLINE_MAX);

    CHECK_EQ(boot_cmdline_write(gm, "console=ttyS0 quiet", 2047, &len, err, sizeof(err)), 0);
    CHECK_EQ(len, 19);
    CHECK_STREQ(s, "console=ttyS0 quiet");
    CHECK_EQ(boot_cmdline_write(gm, NULL, 2047, &len, err, sizeof(err)), 0);
    CHECK_EQ(len, 0);
    CHECK_EQ(s[0], 0);

    char *big = malloc(LAYOUT_CMDLINE_MAX + 1);
    memset(big, 'x', LAYOUT_CMDLINE_MAX);
    big[2047] = 0;
    CHECK_EQ(boot_cmdline_write(gm, big, 2047, &len, err, sizeof(err)), 0);
    CHECK_EQ(len, 2047);
    CHECK_EQ(s[2047], 0);
    big[2047] = 'x';
    big[2048] = 0;
    CHECK_EQ(boot_cmdline_write(gm, big, 2047, &len, err, sizeof(err)), -E2BIG);
    CHECK_STREQ(err, "command line is 2048 bytes, the kernel accepts at most 2047");

    /* The layout's buffer is the other limit. */
    memset(big, 'x', LAYOUT_CMDLINE_MAX);
    big[LAYOUT_CMDLINE_MAX - 1] = 0;
    CHECK_EQ(boot_cmdline_write(gm, big, UINT32_MAX, &len, err, sizeof(err)), 0);
    CHECK_EQ(s[LAYOUT_CMDLINE_MAX - 1], 0);
    big[LAYOUT_CMDLINE_MAX - 1] = 'x';
    big[LAYOUT_CMDLINE_MAX] = 0;
    CHECK_EQ(boot_cmdline_write(gm, big, UINT32_MAX, &len, err, sizeof(err)), -E2BIG);
    CHECK(strstr(err, "sluice accepts at most") != NULL);
    free(big);
}

/* ---- full loads from files ---- */

static char tmpdir[] = "/tmp/sluice-test-boot-XXXXXX";

static char *write_file(const char *name, const void *buf, size_t len)
{
    char *path = malloc(strlen(tmpdir) + strlen(name) + 2);
    sprintf(path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ(fwrite(buf, 1, len, f), len);
        fclose(f);
    }
    return path;
}

static uint64_t rd(const uint8_t *p, size_t off, size_t size)
{
    uint64_t v = 0;
    memcpy(&v, p + off, size);
    return v;
}

static void test_full_load(void)
{
    struct guest_mem gm;
    struct boot_linux_result res;
    char err[BOOT_ERR_MAX];
    struct image im = make_bzimage(4, TEST_PAYLOAD);
    char *kpath = write_file("bzImage", im.buf, im.len);
    size_t initrd_len = 3 * MiB + 123;
    uint8_t *initrd = malloc(initrd_len);
    for (size_t i = 0; i < initrd_len; i++)
        initrd[i] = (uint8_t)(i ^ (i >> 8));
    char *ipath = write_file("initrd", initrd, initrd_len);
    struct boot_e820_extra ecam = { LAYOUT_ECAM_BASE, LAYOUT_ECAM_SIZE, BP_E820_TYPE_RESERVED };

    CHECK_EQ(guest_mem_create(&gm, 256 * MiB, false), 0);
    struct boot_linux_config cfg = {
        .kernel_path = kpath,
        .initrd_path = ipath,
        .cmdline = "console=ttyS0 root=/dev/vda",
        .acpi_rsdp_addr = LAYOUT_ACPI_ADDR,
        .e820_extra = &ecam,
        .n_e820_extra = 1,
    };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), 0);
    CHECK_EQ(res.kernel.load_addr, TEST_PREF);
    CHECK_EQ(res.cpu.rip, TEST_PREF + 0x200);
    CHECK_EQ(res.cpu.rsi, LAYOUT_BOOT_PARAMS_ADDR);
    CHECK_EQ(res.boot_params_addr, LAYOUT_BOOT_PARAMS_ADDR);
    CHECK_EQ(res.cmdline_addr, LAYOUT_CMDLINE_ADDR);
    CHECK_EQ(res.cmdline_len, strlen(cfg.cmdline));
    CHECK_EQ(res.initrd_size, initrd_len);
    CHECK_EQ(res.initrd_addr, (256 * MiB - initrd_len) & ~0xfffULL);
    CHECK_EQ(res.e820_entries, 4);
    const uint8_t *gi = guest_mem_ptr(&gm, res.initrd_addr, initrd_len);
    CHECK(gi && memcmp(gi, initrd, initrd_len) == 0);
    CHECK_STREQ((const char *)guest_mem_ptr(&gm, LAYOUT_CMDLINE_ADDR, 1), cfg.cmdline);

    /* The zero page, at the offsets boot.rst gives. */
    const uint8_t *bp = guest_mem_ptr(&gm, LAYOUT_BOOT_PARAMS_ADDR, 4096);
    CHECK(bp != NULL);
    if (bp) {
        CHECK_EQ(rd(bp, 0x1f1, 1), 4);               /* setup_sects copied */
        CHECK_EQ(rd(bp, 0x1f4, 4), TEST_PAYLOAD / 16); /* syssize copied */
        CHECK_EQ(rd(bp, 0x1fa, 2), 0xffff);          /* vid_mode normal */
        CHECK_EQ(rd(bp, 0x1fe, 2), 0xaa55);
        CHECK_EQ(rd(bp, 0x202, 4), 0x53726448);
        CHECK_EQ(rd(bp, 0x206, 2), 0x020f);
        CHECK_EQ(rd(bp, 0x210, 1), 0xff);            /* type_of_loader */
        CHECK_EQ(rd(bp, 0x211, 1), 0x01);            /* loadflags: LOADED_HIGH */
        CHECK_EQ(rd(bp, 0x218, 4), res.initrd_addr); /* ramdisk_image */
        CHECK_EQ(rd(bp, 0x21c, 4), initrd_len);      /* ramdisk_size */
        CHECK_EQ(rd(bp, 0x228, 4), LAYOUT_CMDLINE_ADDR); /* cmd_line_ptr */
        CHECK_EQ(rd(bp, 0x230, 4), TEST_ALIGN);      /* kernel_alignment copied */
        CHECK_EQ(rd(bp, 0x250, 8), 0);               /* setup_data */
        CHECK_EQ(rd(bp, 0x260, 4), TEST_INIT_SIZE);  /* init_size copied */
        CHECK_EQ(rd(bp, 0x268, 4), 0x12345);         /* whole 2.15 header copied */
        CHECK_EQ(rd(bp, 0x070, 8), LAYOUT_ACPI_ADDR); /* acpi_rsdp_addr */
        CHECK_EQ(rd(bp, 0x0c0, 4), 0);               /* ext_ramdisk_image */
        CHECK_EQ(rd(bp, 0x0c4, 4), 0);               /* ext_ramdisk_size */
        CHECK_EQ(rd(bp, 0x0c8, 4), 0);               /* ext_cmd_line_ptr */
        CHECK_EQ(rd(bp, 0x1ef, 1), 0);               /* sentinel */
        CHECK_EQ(rd(bp, 0x1e8, 1), 4);               /* e820_entries */
        /* e820_table at 0x2d0, 20 bytes each */
        CHECK_EQ(rd(bp, 0x2d0 + 0, 8), 0);
        CHECK_EQ(rd(bp, 0x2d0 + 8, 8), LAYOUT_LOW_RAM_END);
        CHECK_EQ(rd(bp, 0x2d0 + 16, 4), 1);
        CHECK_EQ(rd(bp, 0x2d0 + 20, 8), LAYOUT_LOW_RAM_END);
        CHECK_EQ(rd(bp, 0x2d0 + 36, 4), 2);
        CHECK_EQ(rd(bp, 0x2d0 + 40, 8), 0x100000);
        CHECK_EQ(rd(bp, 0x2d0 + 48, 8), 256 * MiB - 0x100000);
        CHECK_EQ(rd(bp, 0x2d0 + 60, 8), LAYOUT_ECAM_BASE);
        CHECK_EQ(rd(bp, 0x2d0 + 76, 4), 2);
    }
    guest_mem_destroy(&gm);

    /* boot_params_fill alone: protocol 2.12 gets no acpi_rsdp_addr, high
     * halves land in the ext_ fields. */
    {
        struct boot_kernel_info k;
        struct bp_boot_params p;
        memset(&k, 0, sizeof(k));
        k.version = 0x020c;
        k.hdr.version = 0x020c;
        k.hdr.loadflags = 0xff;
        k.hdr_len = 0x268 - 0x1f1;
        struct boot_params_args a = { .cmdline_addr = 0x123456789ULL,
                                      .initrd_addr = 0x200000000ULL,
                                      .initrd_size = 0x100001000ULL,
                                      .acpi_rsdp_addr = 0xe0000 };
        boot_params_fill(&p, &k, &a);
        CHECK_EQ(p.acpi_rsdp_addr, 0);
        CHECK_EQ(p.hdr.loadflags, BP_LOADED_HIGH);
        CHECK_EQ(p.hdr.cmd_line_ptr, 0x23456789);
        CHECK_EQ(p.ext_cmd_line_ptr, 1);
        CHECK_EQ(p.hdr.ramdisk_image, 0);
        CHECK_EQ(p.ext_ramdisk_image, 2);
        CHECK_EQ(p.hdr.ramdisk_size, 0x1000);
        CHECK_EQ(p.ext_ramdisk_size, 1);
        CHECK_EQ(p.hdr.version, 0x020c);
        CHECK_EQ(p.sentinel, 0);
    }

    /* Errors come back as one complete line naming the file. */
    CHECK_EQ(guest_mem_create(&gm, 64 * MiB, false), 0);
    char line[BOOT_ERR_MAX + 64];

    cfg = (struct boot_linux_config){ .kernel_path = "/nonexistent/bzImage" };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -ENOENT);
    CHECK_STREQ(err, "kernel /nonexistent/bzImage: cannot open: No such file or directory");

    cfg = (struct boot_linux_config){ .kernel_path = tmpdir };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "not a regular file") != NULL);

    cfg = (struct boot_linux_config){ .kernel_path = NULL };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -EINVAL);

    char *junk = write_file("junk", "hello, world\n", 13);
    cfg = (struct boot_linux_config){ .kernel_path = junk };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -ENOEXEC);
    snprintf(line, sizeof(line), "kernel %s: not a bzImage or ELF vmlinux", junk);
    CHECK_STREQ(err, line);

    char *empty = write_file("empty", "", 0);
    cfg = (struct boot_linux_config){ .kernel_path = empty };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -ENOEXEC);

    put16(&im, 0x206, 0x020b);
    char *old = write_file("old", im.buf, im.len);
    cfg = (struct boot_linux_config){ .kernel_path = old };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -EPROTONOSUPPORT);
    snprintf(line, sizeof(line),
             "kernel %s: boot protocol 2.11 too old for 64-bit entry (need 2.12)", old);
    CHECK_STREQ(err, line);

    char *trunc = write_file("trunc", im.buf, 0x210);
    cfg = (struct boot_linux_config){ .kernel_path = trunc };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -EBADMSG);
    snprintf(line, sizeof(line), "kernel %s: truncated setup header", trunc);
    CHECK(strncmp(err, line, strlen(line)) == 0);

    /* 64 MiB guest: kernel uses [16, 48) MiB, a 40 MiB initrd fits nowhere. */
    size_t big_len = 40 * MiB;
    uint8_t *big = calloc(1, big_len);
    char *bigpath = write_file("big-initrd", big, big_len);
    cfg = (struct boot_linux_config){ .kernel_path = kpath, .initrd_path = bigpath };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -ENOMEM);
    snprintf(line, sizeof(line), "initrd %s: ", bigpath);
    CHECK(strncmp(err, line, strlen(line)) == 0);
    CHECK(strstr(err, "do not fit") != NULL);

    cfg = (struct boot_linux_config){ .kernel_path = kpath, .initrd_path = empty };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -EINVAL);
    snprintf(line, sizeof(line), "initrd %s: empty file", empty);
    CHECK_STREQ(err, line);

    /* A 12 MiB initrd fits between the kernel's footprint and the end of RAM. */
    char *mid = write_file("mid-initrd", big, 12 * MiB);
    cfg = (struct boot_linux_config){ .kernel_path = kpath, .initrd_path = mid };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), 0);
    CHECK_EQ(res.initrd_addr, 64 * MiB - 12 * MiB);
    CHECK(res.initrd_addr >= res.kernel.footprint_end);

    char *longcmd = malloc(3000);
    memset(longcmd, 'a', 2999);
    longcmd[2999] = 0;
    cfg = (struct boot_linux_config){ .kernel_path = kpath, .cmdline = longcmd };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -E2BIG);
    CHECK_STREQ(err, "cmdline: command line is 2999 bytes, the kernel accepts at most 2047");

    struct boot_e820_extra bad = { 0x1000, 0, BP_E820_TYPE_RESERVED };
    cfg = (struct boot_linux_config){ .kernel_path = kpath, .e820_extra = &bad, .n_e820_extra = 1 };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "e820: ", 6) == 0);

    guest_mem_destroy(&gm);
    const char *paths[] = { kpath, ipath, junk, empty, old, trunc, bigpath, mid };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        unlink(paths[i]);
        free((void *)paths[i]);
    }
    free(longcmd);
    free(big);
    free(initrd);
    free(im.buf);
}

/* ---- a real kernel, if this machine has one ---- */

static int find_in_dir(const char *dir, int depth, char *out, size_t outlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;

    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0)
            found = find_in_dir(path, depth - 1, out, outlen);
        else if (S_ISREG(st.st_mode) && strncmp(e->d_name, "vmlinuz-", 8) == 0) {
            snprintf(out, outlen, "%s", path);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

static int find_real_kernel(char *out, size_t outlen)
{
    glob_t g;
    int found = 0;

    if (glob("/boot/vmlinuz-*", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && !found; i++) {
            if (access(g.gl_pathv[i], R_OK) == 0) {
                snprintf(out, outlen, "%s", g.gl_pathv[i]);
                found = 1;
            }
        }
        globfree(&g);
    }
    const char *home = getenv("HOME");
    if (!found && home) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/.cache/sluice", home);
        found = find_in_dir(dir, 6, out, outlen);
    }
    return found;
}

static void test_real_kernel(void)
{
    char path[4096];
    struct guest_mem gm;
    struct boot_linux_result res;
    char err[BOOT_ERR_MAX];

    if (!find_real_kernel(path, sizeof(path))) {
        fprintf(stderr, "SKIP (sub-test): no /boot/vmlinuz-* or ~/.cache/sluice/**/vmlinuz-*\n");
        return;
    }
    fprintf(stderr, "real kernel: %s\n", path);
    CHECK_EQ(guest_mem_create(&gm, 1024 * MiB, false), 0);
    struct boot_linux_config cfg = { .kernel_path = path, .cmdline = "console=ttyS0",
                                     .acpi_rsdp_addr = LAYOUT_ACPI_ADDR };
    int ret = boot_linux_load(&gm, &cfg, &res, err, sizeof(err));
    if (ret)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(ret, 0);
    if (ret == 0) {
        fprintf(stderr, "  protocol %u.%02u, load 0x%llx, entry 0x%llx, footprint [0x%llx, 0x%llx), cmdline_size %u\n",
                res.kernel.version >> 8, res.kernel.version & 0xff,
                (unsigned long long)res.kernel.load_addr, (unsigned long long)res.kernel.entry,
                (unsigned long long)res.kernel.footprint_start,
                (unsigned long long)res.kernel.footprint_end, res.kernel.cmdline_max);
        CHECK_EQ(res.kernel.format, BOOT_KERNEL_BZIMAGE);
        CHECK(res.kernel.version >= 0x020c);
        CHECK(res.kernel.hdr.xloadflags & BP_XLF_KERNEL_64);
        CHECK_EQ(res.kernel.entry, res.kernel.load_addr + 0x200);
        CHECK_EQ(res.kernel.load_addr, res.kernel.hdr.pref_address);
        CHECK(res.kernel.hdr.init_size > res.kernel.load_size);
        CHECK(res.kernel.cmdline_max >= 255);
        /* The protected-mode part starts (setup_sects + 1) * 512 into the file. */
        FILE *f = fopen(path, "rb");
        uint8_t file_bytes[4096];
        size_t setup = ((size_t)(res.kernel.hdr.setup_sects ? res.kernel.hdr.setup_sects : 4) + 1) * 512;
        CHECK(f != NULL);
        if (f) {
            CHECK_EQ(fseek(f, (long)setup, SEEK_SET), 0);
            CHECK_EQ(fread(file_bytes, 1, sizeof(file_bytes), f), sizeof(file_bytes));
            fclose(f);
            const void *g = guest_mem_ptr(&gm, res.kernel.load_addr, sizeof(file_bytes));
            CHECK(g && memcmp(g, file_bytes, sizeof(file_bytes)) == 0);
        }
    }
    guest_mem_destroy(&gm);
}

int main(void)
{
    struct guest_mem gm;

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_EQ(guest_mem_create(&gm, 256 * MiB, false), 0);
    test_good(&gm);
    test_corrupt(&gm);
    test_placement();
    test_initrd_place();
    test_cmdline(&gm);
    guest_mem_destroy(&gm);
    test_full_load();
    test_real_kernel();
    rmdir(tmpdir);
    return check_result("test_boot_bzimage");
}
