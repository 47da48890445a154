/* SPDX-License-Identifier: MIT */
/*
 * ELF vmlinux: an ELF64 x86-64 ET_EXEC whose PT_LOAD segments are copied to
 * their physical addresses (p_paddr) and entered at startup_64. For x86-64
 * vmlinux e_entry is already physical (ENTRY(phys_startup_64) in
 * vmlinux.lds.S); an e_entry that is a virtual address (in a segment's
 * [p_vaddr, p_vaddr + p_memsz), e.g. in the __START_KERNEL_map range) is
 * translated through that segment.
 */
#define LOG_MODULE "boot"
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "vmm/boot_internal.h"
#include "vmm/boot_linux.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

static int elf_check_ehdr(const uint8_t *img, size_t len, Elf64_Ehdr *eh, char *err, size_t errlen)
{
    if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0) {
        boot_errf(err, errlen, "not a bzImage or ELF vmlinux");
        return -ENOEXEC;
    }
    if (img[EI_CLASS] != ELFCLASS64) {
        boot_errf(err, errlen, "ELF class %u is not ELFCLASS64 (need a 64-bit x86-64 vmlinux)",
                  img[EI_CLASS]);
        return -ENOEXEC;
    }
    if (img[EI_DATA] != ELFDATA2LSB) {
        boot_errf(err, errlen, "ELF is not little-endian (need an x86-64 vmlinux)");
        return -ENOEXEC;
    }
    if (len < sizeof(*eh)) {
        boot_errf(err, errlen, "truncated ELF header (file is %zu bytes)", len);
        return -EBADMSG;
    }
    memcpy(eh, img, sizeof(*eh));
    if (eh->e_machine != EM_X86_64) {
        boot_errf(err, errlen, "ELF machine %u is not EM_X86_64 (%u)", eh->e_machine, EM_X86_64);
        return -ENOEXEC;
    }
    if (eh->e_type != ET_EXEC) {
        boot_errf(err, errlen, "ELF type %u is not ET_EXEC", eh->e_type);
        return -ENOEXEC;
    }
    if (eh->e_phnum == 0 || eh->e_phentsize != sizeof(Elf64_Phdr)) {
        boot_errf(err, errlen, "ELF has no usable program headers (e_phnum %u, e_phentsize %u)",
                  eh->e_phnum, eh->e_phentsize);
        return -EBADMSG;
    }
    uint64_t ph_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    if (eh->e_phoff > len || ph_bytes > len - eh->e_phoff) {
        boot_errf(err, errlen, "ELF program headers lie past end of file");
        return -EBADMSG;
    }
    return 0;
}

static void elf_get_phdr(const uint8_t *img, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
    memcpy(ph, img + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/* Check every PT_LOAD against the file and guest RAM; compute the footprint. */
static int elf_check_segments(const uint8_t *img, size_t len, const Elf64_Ehdr *eh,
                              uint64_t low_end, struct boot_kernel_info *out, char *err,
                              size_t errlen)
{
    uint64_t lo = UINT64_MAX, hi = 0, total = 0;
    unsigned nload = 0;

    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        elf_get_phdr(img, eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset) {
            boot_errf(err, errlen, "ELF segment %u lies past end of file", i);
            return -EBADMSG;
        }
        if (ph.p_filesz > ph.p_memsz) {
            boot_errf(err, errlen, "ELF segment %u has p_filesz 0x%llx > p_memsz 0x%llx", i,
                      (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
            return -EBADMSG;
        }
        if (ph.p_paddr < LAYOUT_KERNEL_ADDR) {
            boot_errf(err, errlen,
                      "ELF segment %u at p_paddr 0x%llx is below 0x%llx (boot structures live there)",
                      i, (unsigned long long)ph.p_paddr, (unsigned long long)LAYOUT_KERNEL_ADDR);
            return -ERANGE;
        }
        if (ph.p_memsz > low_end || ph.p_paddr > low_end - ph.p_memsz) {
            boot_errf(err, errlen,
                      "ELF segment %u [0x%llx, +0x%llx) does not fit in guest RAM below 0x%llx", i,
                      (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                      (unsigned long long)low_end);
            return -ENOMEM;
        }
        /* Overlapping segments could otherwise make sluice copy and zero-fill
         * far more than the guest has (65535 segments x RAM size). */
        total += ph.p_memsz;
        if (total > low_end) {
            boot_errf(err, errlen, "ELF PT_LOAD segments add up to more than guest RAM (0x%llx)",
                      (unsigned long long)low_end);
            return -ENOMEM;
        }
        if (ph.p_paddr < lo)
            lo = ph.p_paddr;
        if (ph.p_paddr + ph.p_memsz > hi)
            hi = ph.p_paddr + ph.p_memsz;
        nload++;
    }
    if (nload == 0) {
        boot_errf(err, errlen, "ELF has no PT_LOAD segments");
        return -EBADMSG;
    }
    out->load_addr = lo;
    out->footprint_start = lo;
    out->footprint_end = hi;
    return 0;
}

/* e_entry as a physical address: inside a segment's physical range as is, or
 * translated from inside a segment's virtual range. */
static int elf_resolve_entry(const uint8_t *img, const Elf64_Ehdr *eh, uint64_t *entry, char *err,
                             size_t errlen)
{
    uint64_t e = eh->e_entry;

    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        elf_get_phdr(img, eh, i, &ph);
        if (ph.p_type == PT_LOAD && e >= ph.p_paddr && e - ph.p_paddr < ph.p_memsz) {
            *entry = e;
            return 0;
        }
    }
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        elf_get_phdr(img, eh, i, &ph);
        if (ph.p_type == PT_LOAD && e >= ph.p_vaddr && e - ph.p_vaddr < ph.p_memsz) {
            *entry = ph.p_paddr + (e - ph.p_vaddr);
            return 0;
        }
    }
    boot_errf(err, errlen, "ELF entry point 0x%llx is not inside any PT_LOAD segment",
              (unsigned long long)e);
    return -EBADMSG;
}

/* The minimal setup header a vmlinux lacks: enough for the kernel to find
 * the command line, initrd and RSDP, and to pass its own sanity checks. */
static void elf_synthesise_header(struct boot_kernel_info *out)
{
    struct bp_setup_header *h = &out->hdr;
    const unsigned hdr_end = BP_SETUP_HEADER_OFFSET + sizeof(*h);

    memset(h, 0, sizeof(*h));
    h->boot_flag = BP_BOOT_FLAG_MAGIC;
    h->jump = (uint16_t)(BP_JUMP_OPCODE_SHORT | ((hdr_end - BP_HEADER_MAGIC_OFFSET) << BP_JUMP_DISP_SHIFT));
    h->header = BP_HEADER_MAGIC;
    h->version = BOOT_ELF_PROTOCOL_VERSION;
    h->type_of_loader = BP_LOADER_TYPE_UNDEFINED;
    h->loadflags = BP_LOADED_HIGH;
    h->initrd_addr_max = BOOT_ELF_INITRD_ADDR_MAX;
    h->kernel_alignment = BOOT_ELF_KERNEL_ALIGNMENT;
    h->xloadflags = BP_XLF_KERNEL_64;
    h->cmdline_size = BOOT_ELF_CMDLINE_SIZE;
    h->pref_address = out->footprint_start;
    h->init_size = (uint32_t)(out->footprint_end - out->footprint_start);
    out->hdr_len = sizeof(*h);
    out->version = BOOT_ELF_PROTOCOL_VERSION;
    out->cmdline_max = BOOT_ELF_CMDLINE_SIZE;
    out->initrd_addr_max = BOOT_ELF_INITRD_ADDR_MAX;
}

int boot_elf_load(const struct guest_mem *gm, const void *image, size_t len,
                  struct boot_kernel_info *out, char *err, size_t errlen)
{
    const uint8_t *img = image;
    Elf64_Ehdr eh;
    int ret;

    memset(out, 0, sizeof(*out));
    out->format = BOOT_KERNEL_ELF;
    ret = elf_check_ehdr(img, len, &eh, err, errlen);
    if (ret)
        return ret;
    ret = elf_check_segments(img, len, &eh, boot_low_ram_end(gm), out, err, errlen);
    if (ret)
        return ret;
    ret = elf_resolve_entry(img, &eh, &out->entry, err, errlen);
    if (ret)
        return ret;

    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        elf_get_phdr(img, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        uint8_t *dst = guest_mem_ptr(gm, ph.p_paddr, ph.p_memsz);
        if (!dst) {
            boot_errf(err, errlen, "ELF segment %u [0x%llx, +0x%llx) is not guest RAM", i,
                      (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz);
            return -ENOMEM;
        }
        memcpy(dst, img + ph.p_offset, ph.p_filesz);
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz); /* .bss */
        out->load_size += ph.p_filesz;
    }
    elf_synthesise_header(out);
    return 0;
}
