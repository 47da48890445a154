/* SPDX-License-Identifier: MIT */
/*
 * ELF vmlinux loading: a synthetic ELF64 x86-64 ET_EXEC laid out like a
 * vmlinux (virtual addresses in the __START_KERNEL_map range, p_paddr
 * physical), its segments, bss zeroing, entry resolution, the rejections,
 * and the synthesised boot_params header of a full load.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "vmm/boot_linux.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define MiB (1024ULL * 1024ULL)
#define KMAP 0xffffffff80000000ULL /* __START_KERNEL_map */
#define SEG0_PADDR 0x1000000ULL
#define SEG0_OFF 0x1000U
#define SEG0_FILESZ 0x3000U
#define SEG0_MEMSZ 0x5000U
#define SEG1_PADDR 0x1400000ULL
#define SEG1_OFF 0x4000U
#define SEG1_FILESZ 0x100U
#define FILE_LEN (SEG1_OFF + SEG1_FILESZ)
#define NPHDR 3

struct elf_image {
    uint8_t buf[FILE_LEN];
    Elf64_Ehdr *eh;
    Elf64_Phdr *ph;
};

static void make_elf(struct elf_image *im)
{
    memset(im->buf, 0, sizeof(im->buf));
    im->eh = (Elf64_Ehdr *)im->buf;
    im->ph = (Elf64_Phdr *)(im->buf + sizeof(Elf64_Ehdr));
    Elf64_Ehdr *eh = im->eh;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = SEG0_PADDR;   /* vmlinux: physical startup_64 */
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = NPHDR;

    Elf64_Phdr *ph = im->ph;
    ph[0].p_type = PT_LOAD;
    ph[0].p_offset = SEG0_OFF;
    ph[0].p_vaddr = KMAP + SEG0_PADDR;
    ph[0].p_paddr = SEG0_PADDR;
    ph[0].p_filesz = SEG0_FILESZ;
    ph[0].p_memsz = SEG0_MEMSZ;
    ph[1].p_type = PT_NOTE;   /* ignored */
    ph[1].p_offset = 0;
    ph[1].p_paddr = 0;
    ph[1].p_filesz = 0x10;
    ph[1].p_memsz = 0x10;
    ph[2].p_type = PT_LOAD;
    ph[2].p_offset = SEG1_OFF;
    ph[2].p_vaddr = KMAP + SEG1_PADDR;
    ph[2].p_paddr = SEG1_PADDR;
    ph[2].p_filesz = SEG1_FILESZ;
    ph[2].p_memsz = SEG1_FILESZ;
    for (unsigned i = 0; i < SEG0_FILESZ; i++)
        im->buf[SEG0_OFF + i] = (uint8_t)(i * 3 + 5);
    for (unsigned i = 0; i < SEG1_FILESZ; i++)
        im->buf[SEG1_OFF + i] = (uint8_t)(0xa0 ^ i);
}

static void test_good(const struct guest_mem *gm)
{
    struct elf_image im;
    struct boot_kernel_info k;
    char err[BOOT_ERR_MAX];

    make_elf(&im);
    /* Pre-dirty the bss so we see it zeroed. */
    memset(guest_mem_ptr(gm, SEG0_PADDR, SEG0_MEMSZ), 0xcc, SEG0_MEMSZ);
    CHECK_EQ(boot_kernel_load(gm, im.buf, sizeof(im.buf), &k, err, sizeof(err)), 0);
    CHECK_EQ(k.format, BOOT_KERNEL_ELF);
    CHECK_EQ(k.entry, SEG0_PADDR);
    CHECK_EQ(k.load_addr, SEG0_PADDR);
    CHECK_EQ(k.load_size, SEG0_FILESZ + SEG1_FILESZ);
    CHECK_EQ(k.footprint_start, SEG0_PADDR);
    CHECK_EQ(k.footprint_end, SEG1_PADDR + SEG1_FILESZ);
    CHECK_EQ(k.cmdline_max, 2047);
    CHECK_EQ(k.initrd_addr_max, 0x7fffffff);
    CHECK_EQ(k.version, BOOT_ELF_PROTOCOL_VERSION);
    CHECK(k.version >= 0x020e);
    CHECK_EQ(k.hdr.boot_flag, 0xaa55);
    CHECK_EQ(k.hdr.header, 0x53726448);
    CHECK_EQ(k.hdr.kernel_alignment, 0x200000);
    CHECK_EQ(k.hdr.cmdline_size, 2047);
    CHECK_EQ(k.hdr.loadflags, 0x01);
    CHECK_EQ(k.hdr.jump >> 8, sizeof(k.hdr) + 0x1f1 - 0x202);

    const uint8_t *g0 = guest_mem_ptr(gm, SEG0_PADDR, SEG0_MEMSZ);
    const uint8_t *g1 = guest_mem_ptr(gm, SEG1_PADDR, SEG1_FILESZ);
    int ok = 1;
    for (unsigned i = 0; i < SEG0_FILESZ; i++)
        ok &= g0[i] == (uint8_t)(i * 3 + 5);
    for (unsigned i = SEG0_FILESZ; i < SEG0_MEMSZ; i++)
        ok &= g0[i] == 0;
    for (unsigned i = 0; i < SEG1_FILESZ; i++)
        ok &= g1[i] == (uint8_t)(0xa0 ^ i);
    CHECK(ok);

    /* e_entry as a kernel virtual address is translated through its segment. */
    make_elf(&im);
    im.eh->e_entry = KMAP + SEG0_PADDR + 0x40;
    CHECK_EQ(boot_elf_load(gm, im.buf, sizeof(im.buf), &k, err, sizeof(err)), 0);
    CHECK_EQ(k.entry, SEG0_PADDR + 0x40);

    /* Entry inside the bss part of a segment is still inside it. */
    make_elf(&im);
    im.eh->e_entry = SEG0_PADDR + SEG0_MEMSZ - 1;
    CHECK_EQ(boot_elf_load(gm, im.buf, sizeof(im.buf), &k, err, sizeof(err)), 0);
}

static void expect_fail(const struct guest_mem *gm, struct elf_image *im, size_t len, int want,
                        const char *msg)
{
    struct boot_kernel_info k;
    char err[BOOT_ERR_MAX] = "";
    int ret = boot_kernel_load(gm, im->buf, len, &k, err, sizeof(err));

    CHECK_EQ(ret, want);
    if (!strstr(err, msg)) {
        fprintf(stderr, "expected \"%s\" in \"%s\"\n", msg, err);
        CHECK(0);
    }
}

static void test_bad(const struct guest_mem *gm)
{
    struct elf_image im;

    make_elf(&im);
    im.eh->e_ident[EI_CLASS] = ELFCLASS32;
    expect_fail(gm, &im, sizeof(im.buf), -ENOEXEC, "ELFCLASS64");

    make_elf(&im);
    im.eh->e_ident[EI_DATA] = ELFDATA2MSB;
    expect_fail(gm, &im, sizeof(im.buf), -ENOEXEC, "little-endian");

    make_elf(&im);
    im.eh->e_machine = EM_386;
    expect_fail(gm, &im, sizeof(im.buf), -ENOEXEC, "EM_X86_64");

    make_elf(&im);
    im.eh->e_type = ET_DYN;
    expect_fail(gm, &im, sizeof(im.buf), -ENOEXEC, "ET_EXEC");

    make_elf(&im);
    expect_fail(gm, &im, 40, -EBADMSG, "truncated ELF header");

    make_elf(&im);
    im.eh->e_phnum = 0;
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "program headers");

    make_elf(&im);
    im.eh->e_phentsize = 32;
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "program headers");

    make_elf(&im);
    im.eh->e_phoff = FILE_LEN - 10;
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "past end of file");

    make_elf(&im);
    im.ph[2].p_filesz = 0x200; /* runs past EOF */
    im.ph[2].p_memsz = 0x200;
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "segment 2 lies past end of file");

    make_elf(&im);
    im.ph[0].p_offset = UINT64_MAX - 4; /* offset + filesz wraps */
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "past end of file");

    make_elf(&im);
    im.ph[2].p_memsz = SEG1_FILESZ - 1;
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "p_filesz");

    make_elf(&im);
    im.ph[0].p_paddr = 0x8000;
    expect_fail(gm, &im, sizeof(im.buf), -ERANGE, "below 0x100000");

    make_elf(&im);
    im.ph[2].p_paddr = 300 * MiB; /* the guest has 256 MiB */
    expect_fail(gm, &im, sizeof(im.buf), -ENOMEM, "does not fit in guest RAM");

    make_elf(&im);
    im.ph[2].p_paddr = UINT64_MAX - 0x10; /* paddr + memsz wraps */
    expect_fail(gm, &im, sizeof(im.buf), -ENOMEM, "does not fit");

    make_elf(&im);
    im.ph[0].p_type = PT_NOTE;
    im.ph[2].p_type = PT_NULL;
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "no PT_LOAD");

    make_elf(&im);
    im.eh->e_entry = 0x2000000;
    expect_fail(gm, &im, sizeof(im.buf), -EBADMSG, "entry point 0x2000000");
}

static void test_full_load(void)
{
    char dir[] = "/tmp/sluice-test-boot-elf-XXXXXX";
    char kpath[64], ipath[64];
    struct elf_image im;
    struct guest_mem gm;
    struct boot_linux_result res;
    char err[BOOT_ERR_MAX];
    static uint8_t initrd[0x3000];

    CHECK(mkdtemp(dir) != NULL);
    snprintf(kpath, sizeof(kpath), "%s/vmlinux", dir);
    snprintf(ipath, sizeof(ipath), "%s/initrd", dir);
    make_elf(&im);
    FILE *f = fopen(kpath, "wb");
    CHECK(f && fwrite(im.buf, 1, sizeof(im.buf), f) == sizeof(im.buf));
    if (f)
        fclose(f);
    memset(initrd, 0x5a, sizeof(initrd));
    f = fopen(ipath, "wb");
    CHECK(f && fwrite(initrd, 1, sizeof(initrd), f) == sizeof(initrd));
    if (f)
        fclose(f);

    /* 3 GiB + 1 GiB above 4 GiB: the initrd must stay below 2 GiB
     * (initrd_addr_max 0x7fffffff) even though low RAM reaches 3 GiB. */
    CHECK_EQ(guest_mem_create(&gm, 4096 * MiB, false), 0);
    struct boot_linux_config cfg = { .kernel_path = kpath, .initrd_path = ipath,
                                     .cmdline = "console=ttyS0", .acpi_rsdp_addr = LAYOUT_ACPI_ADDR };
    int ret = boot_linux_load(&gm, &cfg, &res, err, sizeof(err));
    if (ret)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(ret, 0);
    CHECK_EQ(res.kernel.format, BOOT_KERNEL_ELF);
    CHECK_EQ(res.cpu.rip, SEG0_PADDR);
    CHECK_EQ(res.initrd_addr, 0x80000000ULL - sizeof(initrd));
    CHECK_EQ(res.e820_entries, 4);

    struct bp_boot_params bp;
    CHECK_EQ(guest_mem_read(&gm, LAYOUT_BOOT_PARAMS_ADDR, &bp, sizeof(bp)), 0);
    CHECK_EQ(bp.hdr.boot_flag, 0xaa55);
    CHECK_EQ(bp.hdr.header, 0x53726448);
    CHECK_EQ(bp.hdr.version, BOOT_ELF_PROTOCOL_VERSION);
    CHECK_EQ(bp.hdr.type_of_loader, 0xff);
    CHECK_EQ(bp.hdr.loadflags, 0x01);
    CHECK_EQ(bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE_ADDR);
    CHECK_EQ(bp.hdr.cmdline_size, 2047);
    CHECK_EQ(bp.hdr.kernel_alignment, 0x200000);
    CHECK_EQ(bp.hdr.ramdisk_image, res.initrd_addr);
    CHECK_EQ(bp.hdr.ramdisk_size, sizeof(initrd));
    CHECK_EQ(bp.hdr.vid_mode, 0xffff);
    CHECK_EQ(bp.acpi_rsdp_addr, LAYOUT_ACPI_ADDR);
    CHECK_EQ(bp.e820_entries, 4);
    CHECK_EQ(bp.e820_table[3].addr, LAYOUT_RAM_HIGH_START);
    CHECK_EQ(bp.e820_table[3].size, 1024 * MiB);
    guest_mem_destroy(&gm);

    /* ELF command lines are limited to COMMAND_LINE_SIZE - 1. */
    CHECK_EQ(guest_mem_create(&gm, 64 * MiB, false), 0);
    char longcmd[2049];
    memset(longcmd, 'c', 2048);
    longcmd[2048] = 0;
    cfg = (struct boot_linux_config){ .kernel_path = kpath, .cmdline = longcmd };
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), -E2BIG);
    longcmd[2047] = 0;
    CHECK_EQ(boot_linux_load(&gm, &cfg, &res, err, sizeof(err)), 0);
    guest_mem_destroy(&gm);

    unlink(kpath);
    unlink(ipath);
    rmdir(dir);
}

int main(void)
{
    struct guest_mem gm;

    CHECK_EQ(guest_mem_create(&gm, 256 * MiB, false), 0);
    test_good(&gm);
    test_bad(&gm);
    guest_mem_destroy(&gm);
    test_full_load();
    return check_result("test_boot_elf");
}
