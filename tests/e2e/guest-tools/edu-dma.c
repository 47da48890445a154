/* SPDX-License-Identifier: MIT */
/*
 * edu-dma: drive sluice's edu DMA test device (devices/edu.h) from guest
 * userspace through sysfs, with no kernel driver bound to it.
 *
 *   edu-dma SYSFS_DEVICE_DIR                          self-test (no DMA)
 *   edu-dma SYSFS_DEVICE_DIR --dma-from IOVA [--expect-fault] [--no-dma-error]
 *   edu-dma SYSFS_DEVICE_DIR --msi-index N
 *
 * Both modes enable the device (SYSFS/enable), map BAR 0 (SYSFS/resource0)
 * and check the identification register.
 *
 * Self-test: liveness (the register reads back inverted) and factorial
 * (10! = 3628800, polling the status COMPUTING bit). Prints
 *     EDU-SELFTEST id=0x010000ed liveness=ok factorial=ok
 * and exits 0.
 *
 * --dma-from IOVA: sets bus mastering (read-modify-write of the command
 * register through SYSFS/config), writes a known pattern into the EDU buffer
 * through BAR 0, programs a RAM -> EDU transfer of the whole buffer from IOVA
 * (which the guest need not have mapped), polls the DMA command START bit
 * (with a timeout), reads the buffer back through BAR 0 and prints
 *     EDU-DMA id=0x010000ed buffer=unchanged dma_error=3
 * ("unchanged": the device read nothing; "changed": the transfer happened;
 * dma_error is sluice's EDU_REG_DMA_ERROR). Exits 0 when the outcome is the
 * expected one: "unchanged" with --expect-fault, "changed" without.
 *
 * --no-dma-error: QEMU's own edu (e.g. passed through with VFIO), which
 * lacks sluice's extensions: no DMA buffer window in BAR 0 and no
 * EDU_REG_DMA_ERROR, and it masks DMA addresses to 28 bits (IOVA must be
 * below 0x10000000). The transfer (half the buffer: see QEMU_EDU_DMA_COUNT)
 * is programmed and awaited the same way,
 * but its outcome cannot be seen from the device: prints
 *     EDU-DMA id=0x010000ed buffer=unknown dma_error=unknown
 * and exits 0 once the device completed it; whether an IOMMU refused it is
 * for the caller to judge (the IOMMU's fault log). --expect-fault is then
 * accepted and changes nothing.
 *
 * --msi-index N: sets memory decoding and bus mastering, programs the edu's
 * MSI capability (found through the capability list in SYSFS/config) with
 * address 0xfee00000 and data N (in the AMD IOMMU's remappable format the
 * IRTE index is data[10:0]), enables MSI (one vector) and raises an
 * interrupt through EDU_REG_IRQ_RAISE. Prints
 *     EDU-MSI id=0x010000ed cap=0x40 index=427 irq_status=0x1
 * (irq_status: EDU_REG_IRQ_STATUS after the raise). Whether the message is
 * delivered is for the caller to judge (the guest's log).
 *
 * Any other failure is explained on stderr with exit status 1 (usage: 2).
 * Built statically against libc only; see README in this directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>

/* The device's register layout, shared with sluice (only needs bits.h). */
#include "../../../devices/edu_regs.h"

#define EXIT_USAGE 2
#define POLL_TIMEOUT_NS 1000000000LL /* 1 s: the device completes at once */
#define NS_PER_SEC 1000000000LL
#define LIVENESS_A 0x5a5aa5a5u
#define LIVENESS_B 0x00c0ffeeu
#define FACTORIAL_N 10u
#define FACTORIAL_RESULT 3628800u
#define PATTERN_SEED 0x5au
#define PATTERN_STEP 37u

struct edu_dev {
    const char *dir;
    volatile uint8_t *bar;
    size_t bar_len;
};

static uint32_t rd32(struct edu_dev *d, uint64_t off)
{
    return *(volatile uint32_t *)(d->bar + off);
}

static void wr32(struct edu_dev *d, uint64_t off, uint32_t v)
{
    *(volatile uint32_t *)(d->bar + off) = v;
}

static uint64_t rd64(struct edu_dev *d, uint64_t off)
{
    return *(volatile uint64_t *)(d->bar + off);
}

static void wr64(struct edu_dev *d, uint64_t off, uint64_t v)
{
    *(volatile uint64_t *)(d->bar + off) = v;
}

static int sysfs_path(const struct edu_dev *d, const char *file, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", d->dir, file);
    if (n < 0 || (size_t)n >= len) {
        fprintf(stderr, "edu-dma: path too long: %s/%s\n", d->dir, file);
        return -1;
    }
    return 0;
}

static int sysfs_enable(const struct edu_dev *d)
{
    char path[PATH_MAX];
    if (sysfs_path(d, "enable", path, sizeof(path)))
        return -1;
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        fprintf(stderr, "edu-dma: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    ssize_t n = write(fd, "1", 1);
    int err = errno;
    close(fd);
    if (n != 1) {
        fprintf(stderr, "edu-dma: enabling the device (%s): %s\n", path,
                n < 0 ? strerror(err) : "short write");
        return -1;
    }
    return 0;
}

/* Set `bits` in the command register (read-modify-write through config). */
static int config_command_set(const struct edu_dev *d, uint16_t bits)
{
    char path[PATH_MAX];
    if (sysfs_path(d, "config", path, sizeof(path)))
        return -1;
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        fprintf(stderr, "edu-dma: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ret = -1;
    uint16_t cmd;
    if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != (ssize_t)sizeof(cmd)) {
        fprintf(stderr, "edu-dma: reading the command register: %s\n", strerror(errno));
        goto close_fd;
    }
    cmd |= bits;
    if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != (ssize_t)sizeof(cmd)) {
        fprintf(stderr, "edu-dma: writing the command register: %s\n", strerror(errno));
        goto close_fd;
    }
    if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != (ssize_t)sizeof(cmd) ||
        (cmd & bits) != bits) {
        fprintf(stderr, "edu-dma: command register 0x%04x does not hold 0x%04x\n", cmd, bits);
        goto close_fd;
    }
    ret = 0;
close_fd:
    close(fd);
    return ret;
}

static int bar_map(struct edu_dev *d)
{
    char path[PATH_MAX];
    if (sysfs_path(d, "resource0", path, sizeof(path)))
        return -1;
    int fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0) {
        fprintf(stderr, "edu-dma: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ret = -1;
    struct stat st;
    if (fstat(fd, &st) || (uint64_t)st.st_size < EDU_DMA_BUF_BASE + EDU_DMA_BUF_SIZE) {
        fprintf(stderr, "edu-dma: %s: BAR 0 is too small (%lld bytes)\n", path,
                (long long)st.st_size);
        goto close_fd;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "edu-dma: mmap %s: %s\n", path, strerror(errno));
        goto close_fd;
    }
    d->bar = p;
    d->bar_len = (size_t)st.st_size;
    ret = 0;
close_fd:
    close(fd);
    return ret;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Wait until (register & mask) == 0. Returns 0 or -1 on timeout. */
static int poll_clear(struct edu_dev *d, uint64_t off, uint32_t mask, const char *what)
{
    int64_t deadline = now_ns() + POLL_TIMEOUT_NS;
    while (rd32(d, off) & mask) {
        if (now_ns() > deadline) {
            fprintf(stderr, "edu-dma: %s did not complete within 1 s (reg 0x%" PRIx64
                            " = 0x%08x)\n", what, off, rd32(d, off));
            return -1;
        }
        sched_yield();
    }
    return 0;
}

static int self_test(struct edu_dev *d, uint32_t id)
{
    wr32(d, EDU_REG_LIVENESS, LIVENESS_A);
    uint32_t a = rd32(d, EDU_REG_LIVENESS);
    wr32(d, EDU_REG_LIVENESS, LIVENESS_B);
    uint32_t b = rd32(d, EDU_REG_LIVENESS);
    if (a != ~LIVENESS_A || b != ~LIVENESS_B) {
        fprintf(stderr, "edu-dma: liveness: read 0x%08x/0x%08x, expected 0x%08x/0x%08x\n", a,
                b, ~LIVENESS_A, ~LIVENESS_B);
        return -1;
    }
    wr32(d, EDU_REG_FACTORIAL, FACTORIAL_N);
    if (poll_clear(d, EDU_REG_STATUS, (uint32_t)EDU_STATUS_COMPUTING, "factorial"))
        return -1;
    uint32_t f = rd32(d, EDU_REG_FACTORIAL);
    if (f != FACTORIAL_RESULT) {
        fprintf(stderr, "edu-dma: factorial: %u! read %u, expected %u\n", FACTORIAL_N, f,
                FACTORIAL_RESULT);
        return -1;
    }
    printf("EDU-SELFTEST id=0x%08x liveness=ok factorial=ok\n", id);
    return 0;
}

static uint8_t pattern_byte(uint64_t i)
{
    return (uint8_t)(PATTERN_SEED + i * PATTERN_STEP + (i >> 8));
}

static void buffer_fill(struct edu_dev *d)
{
    for (uint64_t i = 0; i < EDU_DMA_BUF_SIZE; i += sizeof(uint32_t)) {
        uint32_t w = 0;
        for (unsigned b = 0; b < sizeof(w); b++)
            w |= (uint32_t)pattern_byte(i + b) << (8 * b);
        wr32(d, EDU_DMA_BUF_BASE + i, w);
    }
}

/* Bytes of the buffer that differ from the pattern. */
static unsigned buffer_diff(struct edu_dev *d)
{
    unsigned diff = 0;
    for (uint64_t i = 0; i < EDU_DMA_BUF_SIZE; i += sizeof(uint32_t)) {
        uint32_t w = rd32(d, EDU_DMA_BUF_BASE + i);
        for (unsigned b = 0; b < sizeof(w); b++)
            diff += (uint8_t)(w >> (8 * b)) != pattern_byte(i + b);
    }
    return diff;
}

#define QEMU_EDU_DMA_MASK 0x0fffffffULL /* QEMU's edu: dma_mask default, 28 bits */
/*
 * QEMU 7.2's edu refuses a transfer that ends exactly at the end of its
 * buffer (its range check is off by one) with hw_error(), which aborts the
 * whole QEMU process: stay clear of the last byte.
 */
#define QEMU_EDU_DMA_COUNT (EDU_DMA_BUF_SIZE / 2)

/* QEMU's edu: program the transfer and wait; 0 or -1 on failure. */
static int dma_from_blind(struct edu_dev *d, uint64_t iova)
{
    if (config_command_set(d, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
        return -1;
    wr64(d, EDU_REG_DMA_SRC, iova);
    wr64(d, EDU_REG_DMA_DST, EDU_DMA_BUF_BASE);
    wr64(d, EDU_REG_DMA_COUNT, QEMU_EDU_DMA_COUNT);
    wr32(d, EDU_REG_DMA_CMD, (uint32_t)EDU_DMA_CMD_START); /* RAM -> EDU, no interrupt */
    return poll_clear(d, EDU_REG_DMA_CMD, (uint32_t)EDU_DMA_CMD_START, "DMA");
}

/* Returns 1 when the buffer changed, 0 when it did not, -1 on failure. */
static int dma_from(struct edu_dev *d, uint64_t iova, uint64_t *dma_error)
{
    if (config_command_set(d, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
        return -1;
    buffer_fill(d);
    unsigned before = buffer_diff(d);
    if (before) {
        fprintf(stderr, "edu-dma: the buffer does not hold what was written through BAR 0 "
                        "(%u bytes differ)\n", before);
        return -1;
    }
    wr64(d, EDU_REG_DMA_SRC, iova);
    wr64(d, EDU_REG_DMA_DST, EDU_DMA_BUF_BASE);
    wr64(d, EDU_REG_DMA_COUNT, EDU_DMA_BUF_SIZE);
    wr32(d, EDU_REG_DMA_CMD, (uint32_t)EDU_DMA_CMD_START); /* RAM -> EDU, no interrupt */
    if (poll_clear(d, EDU_REG_DMA_CMD, (uint32_t)EDU_DMA_CMD_START, "DMA"))
        return -1;
    *dma_error = rd64(d, EDU_REG_DMA_ERROR);
    unsigned diff = buffer_diff(d);
    if (diff)
        fprintf(stderr, "edu-dma: %u of %llu buffer bytes changed\n", diff,
                (unsigned long long)EDU_DMA_BUF_SIZE);
    return diff != 0;
}

#define MSI_ADDRESS 0xfee00000u
#define MSI_RAISE_BITS 0x1u
#define CAP_LIST_MAX 48 /* capabilities walked before giving up (a loop) */

static int cfg_rw(int fd, bool wr, void *buf, size_t len, off_t off)
{
    ssize_t n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
    if (n != (ssize_t)len) {
        fprintf(stderr, "edu-dma: %s config space at 0x%llx: %s\n", wr ? "writing" : "reading",
                (unsigned long long)off, n < 0 ? strerror(errno) : "short transfer");
        return -1;
    }
    return 0;
}

/* Offset of the MSI capability in config space, 0 when there is none, -1. */
static int msi_cap_find(int fd)
{
    uint16_t status;
    uint8_t pos;
    if (cfg_rw(fd, false, &status, sizeof(status), PCI_STATUS))
        return -1;
    if (!(status & PCI_STATUS_CAP_LIST))
        return 0;
    if (cfg_rw(fd, false, &pos, sizeof(pos), PCI_CAPABILITY_LIST))
        return -1;
    for (int i = 0; i < CAP_LIST_MAX && pos >= PCI_STD_HEADER_SIZEOF; i++) {
        uint8_t hdr[2];
        pos &= (uint8_t)~3u;
        if (cfg_rw(fd, false, hdr, sizeof(hdr), pos))
            return -1;
        if (hdr[0] == PCI_CAP_ID_MSI)
            return pos;
        pos = hdr[1];
    }
    return 0;
}

/* Program MSI (address 0xfee00000, data `data`), enable it. Returns the cap. */
static int msi_program(const struct edu_dev *d, uint16_t data)
{
    char path[PATH_MAX];
    if (sysfs_path(d, "config", path, sizeof(path)))
        return -1;
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        fprintf(stderr, "edu-dma: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ret = -1;
    int cap = msi_cap_find(fd);
    if (cap <= 0) {
        if (!cap)
            fprintf(stderr, "edu-dma: the device has no MSI capability\n");
        goto close_fd;
    }
    uint16_t ctl;
    if (cfg_rw(fd, false, &ctl, sizeof(ctl), cap + PCI_MSI_FLAGS))
        goto close_fd;
    uint32_t addr = MSI_ADDRESS, zero = 0;
    int data_off = (ctl & PCI_MSI_FLAGS_64BIT) ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
    ctl = (uint16_t)(ctl & ~(PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE));
    if (cfg_rw(fd, true, &ctl, sizeof(ctl), cap + PCI_MSI_FLAGS) ||
        cfg_rw(fd, true, &addr, sizeof(addr), cap + PCI_MSI_ADDRESS_LO) ||
        ((ctl & PCI_MSI_FLAGS_64BIT) &&
         cfg_rw(fd, true, &zero, sizeof(zero), cap + PCI_MSI_ADDRESS_HI)) ||
        cfg_rw(fd, true, &data, sizeof(data), cap + data_off))
        goto close_fd;
    ctl |= PCI_MSI_FLAGS_ENABLE;
    if (cfg_rw(fd, true, &ctl, sizeof(ctl), cap + PCI_MSI_FLAGS) ||
        cfg_rw(fd, false, &ctl, sizeof(ctl), cap + PCI_MSI_FLAGS))
        goto close_fd;
    if (!(ctl & PCI_MSI_FLAGS_ENABLE)) {
        fprintf(stderr, "edu-dma: MSI control 0x%04x: enable did not stick\n", ctl);
        goto close_fd;
    }
    ret = cap;
close_fd:
    close(fd);
    return ret;
}

static int msi_raise(struct edu_dev *d, uint32_t id, uint16_t index)
{
    if (config_command_set(d, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                  PCI_COMMAND_INTX_DISABLE))
        return -1;
    int cap = msi_program(d, index);
    if (cap < 0)
        return -1;
    wr32(d, EDU_REG_IRQ_RAISE, MSI_RAISE_BITS);
    printf("EDU-MSI id=0x%08x cap=0x%02x index=%u irq_status=0x%x\n", id, (unsigned)cap,
           (unsigned)index, rd32(d, EDU_REG_IRQ_STATUS));
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: edu-dma SYSFS_DEVICE_DIR [--dma-from IOVA] [--expect-fault] "
                    "[--no-dma-error]\n"
                    "       edu-dma SYSFS_DEVICE_DIR --msi-index N\n"
                    "  e.g. edu-dma /sys/bus/pci/devices/0000:01:00.0 --dma-from 0x10000000 "
                    "--expect-fault\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct edu_dev d = { 0 };
    bool dma = false, expect_fault = false, msi = false, blind = false;
    uint64_t iova = 0;
    unsigned long msi_index = 0;

    if (argc < 2 || argv[1][0] == '-')
        return usage();
    d.dir = argv[1];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dma-from") && i + 1 < argc) {
            char *end;
            errno = 0;
            iova = strtoull(argv[++i], &end, 0);
            if (errno || *end || end == argv[i]) {
                fprintf(stderr, "edu-dma: --dma-from: not a number: %s\n", argv[i]);
                return EXIT_USAGE;
            }
            dma = true;
        } else if (!strcmp(argv[i], "--msi-index") && i + 1 < argc) {
            char *end;
            errno = 0;
            msi_index = strtoul(argv[++i], &end, 0);
            if (errno || *end || end == argv[i] || msi_index > UINT16_MAX) {
                fprintf(stderr, "edu-dma: --msi-index: not a 16-bit number: %s\n", argv[i]);
                return EXIT_USAGE;
            }
            msi = true;
        } else if (!strcmp(argv[i], "--expect-fault")) {
            expect_fault = true;
        } else if (!strcmp(argv[i], "--no-dma-error")) {
            blind = true;
        } else {
            return usage();
        }
    }
    if (expect_fault && !dma) {
        fprintf(stderr, "edu-dma: --expect-fault needs --dma-from\n");
        return EXIT_USAGE;
    }
    if (blind && !dma) {
        fprintf(stderr, "edu-dma: --no-dma-error needs --dma-from\n");
        return EXIT_USAGE;
    }
    if (blind && (iova & ~QEMU_EDU_DMA_MASK)) {
        fprintf(stderr, "edu-dma: QEMU's edu masks DMA addresses to 28 bits: use an IOVA "
                        "below 0x10000000, not 0x%llx\n", (unsigned long long)iova);
        return EXIT_USAGE;
    }
    if (msi && dma) {
        fprintf(stderr, "edu-dma: --msi-index and --dma-from are separate modes\n");
        return EXIT_USAGE;
    }

    if (sysfs_enable(&d) || bar_map(&d))
        return EXIT_FAILURE;
    uint32_t id = rd32(&d, EDU_REG_ID);
    if (id != EDU_ID_VALUE) {
        fprintf(stderr, "edu-dma: identification register 0x%08x, expected 0x%08x\n", id,
                (unsigned)EDU_ID_VALUE);
        return EXIT_FAILURE;
    }
    if (msi)
        return msi_raise(&d, id, (uint16_t)msi_index) ? EXIT_FAILURE : EXIT_SUCCESS;
    if (!dma)
        return self_test(&d, id) ? EXIT_FAILURE : EXIT_SUCCESS;

    if (blind) {
        if (dma_from_blind(&d, iova))
            return EXIT_FAILURE;
        printf("EDU-DMA id=0x%08x buffer=unknown dma_error=unknown\n", id);
        return EXIT_SUCCESS;
    }
    uint64_t dma_error = 0;
    int changed = dma_from(&d, iova, &dma_error);
    if (changed < 0)
        return EXIT_FAILURE;
    printf("EDU-DMA id=0x%08x buffer=%s dma_error=%llu\n", id, changed ? "changed" : "unchanged",
           (unsigned long long)dma_error);
    if (expect_fault == (bool)changed) {
        fprintf(stderr, "edu-dma: expected the buffer to be %s after a DMA from 0x%llx\n",
                expect_fault ? "unchanged (a fault)" : "changed (a transfer)",
                (unsigned long long)iova);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
