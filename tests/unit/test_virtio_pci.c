/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci modern transport driven the way Linux's virtio_pci_modern
 * drives it: capabilities found by walking config space, BAR 4 accessed
 * through its bus callbacks, a tiny echo device behind it (one queue: copies
 * the readable bytes of each chain into its writable part), fake guest RAM,
 * and a fake MSI sink without irqfd (so vectors fall back to send_msi).
 * No ioeventfd sink: doorbells go through the BAR callback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtio_pci_regs.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_guest_ram.h"

#define RAM_GPA 0x0ULL
#define RAM_SIZE (1ULL << 20)
#define RING_GPA 0x10000ULL
#define BUF_OUT_GPA 0x40000ULL
#define BUF_IN_GPA 0x41000ULL
#define QUEUE_MAX 256
#define ECHO_CONFIG_SIZE 8
#define BAR4_ADDR 0x800000000ULL
#define MSI_ADDR_CONFIG 0xfee01000ULL
#define MSI_DATA_CONFIG 0x41
#define MSI_ADDR_QUEUE 0xfee02000ULL
#define MSI_DATA_QUEUE 0x52
#define WAIT_MS 5000
#define QUIET_MS 100

/* ---- fake MSI sink -------------------------------------------------------- */

struct fake_sink {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned count;
    uint16_t source;
    uint64_t addr;
    uint32_t data;
};

static int sink_send_msi(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data)
{
    struct fake_sink *s = opaque;
    pthread_mutex_lock(&s->lock);
    s->count++;
    s->source = source_id;
    s->addr = addr;
    s->data = data;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int sink_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                          uint64_t addr, uint32_t data)
{
    (void)opaque, (void)gsi, (void)enabled, (void)source_id, (void)addr, (void)data;
    return 0;
}

/* Wait until the sink has seen more than `seen` MSIs. */
static bool sink_wait(struct fake_sink *s, unsigned seen)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (s->count <= seen && rc == 0)
        rc = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    bool ok = s->count > seen;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static unsigned sink_count(struct fake_sink *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---- the echo device -------------------------------------------------------- */

struct echo {
    struct virtio_pci *vp;
    atomic_int activated, resets, notifies;
    int activate_rc;
    uint8_t config[ECHO_CONFIG_SIZE];
    struct virtqueue_chain chain;
    uint8_t buf[4096];
};

static void echo_config_read(void *opaque, uint32_t off, void *data, unsigned size)
{
    struct echo *e = opaque;
    memcpy(data, e->config + off, size);
}

static void echo_config_write(void *opaque, uint32_t off, const void *data, unsigned size)
{
    struct echo *e = opaque;
    memcpy(e->config + off, data, size);
}

static int echo_activate(void *opaque)
{
    struct echo *e = opaque;
    atomic_fetch_add(&e->activated, 1);
    return e->activate_rc;
}

static void echo_queue_notify(void *opaque, unsigned q)
{
    struct echo *e = opaque;
    struct virtqueue *vq = virtio_pci_queue(e->vp, q);
    int rc;
    bool pushed = false;
    atomic_fetch_add(&e->notifies, 1);
    while ((rc = virtqueue_pop(vq, &e->chain)) == 1) {
        size_t n = virtqueue_chain_read(&e->chain, 0, e->buf, sizeof(e->buf));
        size_t w = virtqueue_chain_write(&e->chain, 0, e->buf, n);
        if (virtqueue_push(vq, e->chain.head, (uint32_t)w)) {
            virtio_pci_device_error(e->vp, "used ring not writable");
            return;
        }
        pushed = true;
    }
    if (rc < 0) {
        virtio_pci_device_error(e->vp, "malformed chain");
        return;
    }
    if (pushed)
        virtio_pci_queue_interrupt(e->vp, q);
}

static void echo_reset(void *opaque)
{
    struct echo *e = opaque;
    atomic_fetch_add(&e->resets, 1);
}

static const struct virtio_device_ops echo_ops = {
    .config_read = echo_config_read,
    .config_write = echo_config_write,
    .activate = echo_activate,
    .queue_notify = echo_queue_notify,
    .reset = echo_reset,
};

/* ---- the fixture: device + "guest driver" ----------------------------------- */

struct fixture {
    struct fake_ram ram;
    struct fake_sink sink_state;
    struct msi_sink sink;
    struct echo echo;
    struct virtio_pci *vp;
    struct pci_device *dev;
    struct fake_vring vr;
    /* what the capability walk found (BAR 4 offsets) */
    uint32_t common, isr, device, notify, notify_mult;
    unsigned cfg_cap, msix_cap;
};

static uint32_t cfg_rd(struct fixture *f, unsigned off, unsigned size)
{
    uint32_t v = 0;
    pci_config_read(f->dev, off, &v, size);
    return v;
}

static void cfg_wr(struct fixture *f, unsigned off, uint32_t v, unsigned size)
{
    pci_config_write(f->dev, off, &v, size);
}

static uint64_t bar_rd(struct fixture *f, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    const struct pci_bar *b = &f->dev->bars[VIRTIO_PCI_BAR];
    b->ops->read(b->opaque, off, &v, size);
    return v;
}

static void bar_wr(struct fixture *f, uint64_t off, uint64_t v, unsigned size)
{
    const struct pci_bar *b = &f->dev->bars[VIRTIO_PCI_BAR];
    b->ops->write(b->opaque, off, &v, size);
}

static uint32_t common_rd(struct fixture *f, unsigned field, unsigned size)
{
    return (uint32_t)bar_rd(f, f->common + field, size);
}

static void common_wr(struct fixture *f, unsigned field, uint32_t v, unsigned size)
{
    bar_wr(f, f->common + field, v, size);
}

static uint8_t status_rd(struct fixture *f)
{
    return (uint8_t)common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1);
}

static void status_wr(struct fixture *f, uint8_t v)
{
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, v, 1);
}

/* Walk the capability list like pci_find_capability + virtio_pci_find_capability. */
static void find_caps(struct fixture *f)
{
    unsigned guard = 0;
    CHECK(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    for (unsigned pos = cfg_rd(f, PCI_CAPABILITY_LIST, 1); pos && guard < 48;
         pos = cfg_rd(f, pos + PCI_CAP_LIST_NEXT, 1), guard++) {
        uint8_t id = (uint8_t)cfg_rd(f, pos + PCI_CAP_LIST_ID, 1);
        if (id == PCI_CAP_ID_MSIX)
            f->msix_cap = pos;
        if (id != PCI_CAP_ID_VNDR)
            continue;
        uint8_t type = (uint8_t)cfg_rd(f, pos + VIRTIO_PCI_CAP_CFG_TYPE, 1);
        uint8_t bar = (uint8_t)cfg_rd(f, pos + VIRTIO_PCI_CAP_BAR, 1);
        uint32_t off = cfg_rd(f, pos + VIRTIO_PCI_CAP_OFFSET, 4);
        uint32_t len = cfg_rd(f, pos + VIRTIO_PCI_CAP_LENGTH, 4);
        if (type != VIRTIO_PCI_CAP_PCI_CFG) {
            CHECK_EQ(bar, VIRTIO_PCI_BAR);
            CHECK(len > 0 && off + (uint64_t)len <= VIRTIO_PCI_BAR_SIZE);
        }
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            CHECK(len >= sizeof(struct virtio_pci_common_cfg));
            f->common = off;
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            CHECK(cfg_rd(f, pos + VIRTIO_PCI_CAP_LEN, 1) >= sizeof(struct virtio_pci_notify_cap));
            f->notify = off;
            f->notify_mult = cfg_rd(f, pos + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
            break;
        case VIRTIO_PCI_CAP_ISR_CFG:
            f->isr = off;
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            f->device = off;
            break;
        case VIRTIO_PCI_CAP_PCI_CFG:
            f->cfg_cap = pos;
            break;
        }
    }
    CHECK_EQ(f->common, VIRTIO_PCI_COMMON_OFF);
    CHECK_EQ(f->isr, VIRTIO_PCI_ISR_OFF);
    CHECK_EQ(f->device, VIRTIO_PCI_DEVICE_OFF);
    CHECK_EQ(f->notify, VIRTIO_PCI_NOTIFY_OFF);
    CHECK_EQ(f->notify_mult, VIRTIO_PCI_NOTIFY_MULTIPLIER);
    CHECK(f->cfg_cap != 0);
    CHECK(f->msix_cap != 0);
}

/* What a test changes in the default setup (1 queue, MSI sink without
 * irqfd, no ioeventfd, not behind an IOMMU). */
struct fixture_opts {
    const struct msi_sink *sink;
    const struct ioevent_sink *ioev;
    unsigned nqueues;
    bool behind_iommu;
};

static int fixture_init_opts(struct fixture *f, bool start, const struct fixture_opts *o)
{
    memset(f, 0, sizeof(*f));
    if (fake_ram_init(&f->ram, RAM_GPA, RAM_SIZE))
        return -ENOMEM;
    pthread_mutex_init(&f->sink_state.lock, NULL);
    pthread_cond_init(&f->sink_state.cond, NULL);
    f->sink = (struct msi_sink){.send_msi = sink_send_msi, .set_route = sink_set_route,
                                .opaque = &f->sink_state};
    memcpy(f->echo.config, "ECHOCFG", ECHO_CONFIG_SIZE);
    struct virtio_pci_config cfg = {
        .dev = {.name = "virtio-echo", .device_id = VIRTIO_ID_RNG, .class_code = 0xff0000,
                .features = 0, .nqueues = 1, .queue_max_size = QUEUE_MAX,
                .config_size = ECHO_CONFIG_SIZE, .ops = &echo_ops, .opaque = &f->echo},
        .sink = o && o->sink ? o->sink : &f->sink,
        .ioev = o ? o->ioev : NULL,
        .ram = &f->ram.region,
        .nram = 1,
        .behind_iommu = o && o->behind_iommu,
    };
    if (o && o->nqueues)
        cfg.dev.nqueues = o->nqueues;
    int rc = virtio_pci_create(&cfg, &f->vp);
    if (rc)
        return rc;
    f->echo.vp = f->vp;
    f->dev = virtio_pci_pci_device(f->vp);
    if (start && virtio_pci_start(f->vp))
        return -EIO;
    find_caps(f);
    /* firmware: BAR 4, memory decode and bus mastering */
    cfg_wr(f, PCI_BASE_ADDRESS_4, (uint32_t)BAR4_ADDR, 4);
    cfg_wr(f, PCI_BASE_ADDRESS_5, (uint32_t)(BAR4_ADDR >> 32), 4);
    cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    return 0;
}

static int fixture_init(struct fixture *f, bool start)
{
    return fixture_init_opts(f, start, NULL);
}

static void fixture_fini(struct fixture *f)
{
    virtio_pci_destroy(f->vp);
    fake_ram_free(&f->ram);
    pthread_cond_destroy(&f->sink_state.cond);
    pthread_mutex_destroy(&f->sink_state.lock);
}

static uint64_t device_features(struct fixture *f)
{
    common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    uint64_t lo = common_rd(f, VIRTIO_PCI_COMMON_DF, 4);
    common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    uint64_t hi = common_rd(f, VIRTIO_PCI_COMMON_DF, 4);
    return lo | hi << 32;
}

static void driver_features(struct fixture *f, uint64_t features)
{
    common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    common_wr(f, VIRTIO_PCI_COMMON_GF, (uint32_t)features, 4);
    common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    common_wr(f, VIRTIO_PCI_COMMON_GF, (uint32_t)(features >> 32), 4);
}

/* Reset, ACKNOWLEDGE, DRIVER, negotiate `features`, FEATURES_OK. */
static void negotiate(struct fixture *f, uint64_t features)
{
    status_wr(f, 0);
    CHECK_EQ(status_rd(f), 0);
    status_wr(f, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    status_wr(f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    driver_features(f, features);
    status_wr(f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                     VIRTIO_CONFIG_S_FEATURES_OK);
}

static void setup_queue(struct fixture *f, uint16_t size, uint16_t vector)
{
    common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
    fake_vring_init(&f->ram, &f->vr, RING_GPA, size);
    common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)f->vr.desc, 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DESCHI, (uint32_t)(f->vr.desc >> 32), 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)f->vr.avail, 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_AVAILHI, (uint32_t)(f->vr.avail >> 32), 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)f->vr.used, 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_USEDHI, (uint32_t)(f->vr.used >> 32), 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

static void msix_program(struct fixture *f, unsigned vec, uint64_t addr, uint32_t data)
{
    uint64_t e = VIRTIO_PCI_MSIX_TABLE_OFF + (uint64_t)vec * PCI_MSIX_ENTRY_SIZE;
    bar_wr(f, e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr, 4);
    bar_wr(f, e + PCI_MSIX_ENTRY_UPPER_ADDR, (uint32_t)(addr >> 32), 4);
    bar_wr(f, e + PCI_MSIX_ENTRY_DATA, data, 4);
    bar_wr(f, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
}

static void msix_enable(struct fixture *f)
{
    cfg_wr(f, f->msix_cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
}

/* Post "hello" (readable) + 16 writable bytes as chain 0..1 and ring queue 0. */
static void post_and_kick(struct fixture *f, const char *msg)
{
    size_t n = strlen(msg);
    fake_ram_write(&f->ram, BUF_OUT_GPA, msg, n);
    memset(fake_ram_ptr(&f->ram, BUF_IN_GPA, 16), 0, 16);
    fake_vring_desc(&f->ram, &f->vr, 0, BUF_OUT_GPA, (uint32_t)n, VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&f->ram, &f->vr, 1, BUF_IN_GPA, 16, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&f->ram, &f->vr, 0);
    bar_wr(f, f->notify + 0 * f->notify_mult, 0, 2);
}

static bool wait_for(bool (*cond)(struct fixture *), struct fixture *f)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (cond(f))
            return true;
        usleep(1000);
    }
    return false;
}

static bool used_idx_nonzero(struct fixture *f)
{
    return fake_vring_used_idx(&f->ram, &f->vr) != 0;
}

/* The function's INTx level, as the guest sees it (Status.Interrupt). */
static bool intx_high(struct fixture *f)
{
    return cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT;
}

static const uint64_t base_features =
    (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX);

/* ---- tests ---------------------------------------------------------------------- */

static void test_identity(void)
{
    struct fixture f;
    if (fixture_init(&f, false)) {
        CHECK(0);
        return;
    }
    CHECK_EQ(cfg_rd(&f, PCI_VENDOR_ID, 2), PCI_VENDOR_ID_REDHAT_QUMRANET);
    CHECK_EQ(cfg_rd(&f, PCI_DEVICE_ID, 2), VIRTIO_PCI_DEVICE_ID_MODERN_BASE + VIRTIO_ID_RNG);
    CHECK_EQ(cfg_rd(&f, PCI_REVISION_ID, 1), 1);
    CHECK_EQ(cfg_rd(&f, PCI_SUBSYSTEM_VENDOR_ID, 2), PCI_VENDOR_ID_REDHAT_QUMRANET);
    CHECK_EQ(cfg_rd(&f, PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_RNG);
    CHECK_EQ(cfg_rd(&f, PCI_CLASS_REVISION, 4) >> 8, 0xff0000);
    CHECK_EQ(cfg_rd(&f, PCI_INTERRUPT_PIN, 1), 1);
    /* PCIe endpoint, capability version 2 */
    unsigned exp = pci_find_capability(f.dev, PCI_CAP_ID_EXP);
    CHECK(exp != 0);
    uint16_t flags = (uint16_t)cfg_rd(&f, exp + PCI_EXP_FLAGS, 2);
    CHECK_EQ(flags & PCI_EXP_FLAGS_VERS, 2);
    CHECK_EQ((flags & PCI_EXP_FLAGS_TYPE) >> 4, PCI_EXP_TYPE_ENDPOINT);
    /* MSI-X: config vector + 1 queue, table and PBA in BAR 4 */
    CHECK_EQ((cfg_rd(&f, f.msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1, 2);
    CHECK_EQ(cfg_rd(&f, f.msix_cap + PCI_MSIX_TABLE, 4),
             VIRTIO_PCI_MSIX_TABLE_OFF | VIRTIO_PCI_BAR);
    CHECK_EQ(cfg_rd(&f, f.msix_cap + PCI_MSIX_PBA, 4), VIRTIO_PCI_MSIX_PBA_OFF | VIRTIO_PCI_BAR);
    /* BAR 4 sizing: 64-bit prefetchable, 64 KiB */
    cfg_wr(&f, PCI_BASE_ADDRESS_4, UINT32_MAX, 4);
    cfg_wr(&f, PCI_BASE_ADDRESS_5, UINT32_MAX, 4);
    CHECK_EQ(cfg_rd(&f, PCI_BASE_ADDRESS_4, 4),
             (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1) | PCI_BASE_ADDRESS_MEM_TYPE_64 |
                 PCI_BASE_ADDRESS_MEM_PREFETCH);
    CHECK_EQ(cfg_rd(&f, PCI_BASE_ADDRESS_5, 4), UINT32_MAX);
    /* device features: VERSION_1, EVENT_IDX, INDIRECT_DESC; no ACCESS_PLATFORM */
    uint64_t df = device_features(&f);
    CHECK(df & (1ULL << VIRTIO_F_VERSION_1));
    CHECK(df & (1ULL << VIRTIO_RING_F_EVENT_IDX));
    CHECK(df & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
    CHECK(!(df & (1ULL << VIRTIO_F_ACCESS_PLATFORM)));
    common_wr(&f, VIRTIO_PCI_COMMON_DFSELECT, 7, 4);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_DF, 4), 0);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    /* device config through BAR 4 */
    CHECK_EQ(bar_rd(&f, f.device, 4), 0x4f484345); /* "ECHO" */
    CHECK_EQ(bar_rd(&f, f.device + ECHO_CONFIG_SIZE, 1), 0xff);
    fixture_fini(&f);
}

static void test_features_ok(void)
{
    struct fixture f;
    if (fixture_init(&f, false)) {
        CHECK(0);
        return;
    }
    /* no VERSION_1: FEATURES_OK stays clear */
    negotiate(&f, 1ULL << VIRTIO_RING_F_EVENT_IDX);
    CHECK_EQ(status_rd(&f), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    /* a bit that was not offered: refused too */
    negotiate(&f, base_features | (1ULL << VIRTIO_F_RING_PACKED));
    CHECK(!(status_rd(&f) & VIRTIO_CONFIG_S_FEATURES_OK));
    /* the driver may retry without resetting */
    driver_features(&f, base_features);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK);
    CHECK(status_rd(&f) & VIRTIO_CONFIG_S_FEATURES_OK);
    common_wr(&f, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_GF, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
    CHECK_EQ(virtio_pci_driver_features(f.vp), base_features);
    /* feature writes after FEATURES_OK are ignored */
    common_wr(&f, VIRTIO_PCI_COMMON_GF, 0, 4);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_GF, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
    /* the driver cannot set NEEDS_RESET */
    status_wr(&f, VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_ACKNOWLEDGE);
    CHECK(!(status_rd(&f) & VIRTIO_CONFIG_S_NEEDS_RESET));
    fixture_fini(&f);
}

static void test_queue_registers(void)
{
    struct fixture f;
    if (fixture_init(&f, false)) {
        CHECK(0);
        return;
    }
    negotiate(&f, base_features);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QUEUE_MAX);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
    /* not a power of two, too big, zero: old value kept */
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SIZE, 100, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QUEUE_MAX);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SIZE, QUEUE_MAX * 2, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QUEUE_MAX);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SIZE, 0, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QUEUE_MAX);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SIZE, 64, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    /* 64-bit addresses as two dwords */
    common_wr(&f, VIRTIO_PCI_COMMON_Q_DESCLO, 0x12345000, 4);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_DESCHI, 0x9, 4);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x12345000);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_DESCHI, 4), 0x9);
    CHECK_EQ(virtio_pci_queue(f.vp, 0)->desc_addr, 0x912345000ULL);
    /* vectors: in range kept, out of range reads back NO_VECTOR */
    common_wr(&f, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    common_wr(&f, VIRTIO_PCI_COMMON_MSIX, 0, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_MSIX, 2), 0);
    common_wr(&f, VIRTIO_PCI_COMMON_MSIX, 99, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    /* a queue that does not exist */
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SELECT, 5, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    /* wrong access widths: all-ones, dropped */
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_STATUS, 4), UINT32_MAX);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SELECT + 1, 1), 0xff);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 4);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SELECT, 2), 5);
    CHECK_EQ(bar_rd(&f, VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_CFG_LEN, 4), UINT32_MAX);
    /* read-only fields */
    common_wr(&f, VIRTIO_PCI_COMMON_NUMQ, 9, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    /* queue registers freeze once enabled */
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_SIZE, 32, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    fixture_fini(&f);
}

/* The whole Linux-like bring-up with MSI-X, one request echoed. */
static void test_msix_echo(void)
{
    struct fixture f;
    if (fixture_init(&f, true)) {
        CHECK(0);
        return;
    }
    negotiate(&f, base_features);
    CHECK(status_rd(&f) & VIRTIO_CONFIG_S_FEATURES_OK);
    msix_program(&f, 0, MSI_ADDR_CONFIG, MSI_DATA_CONFIG);
    msix_program(&f, 1, MSI_ADDR_QUEUE, MSI_DATA_QUEUE);
    msix_enable(&f);
    common_wr(&f, VIRTIO_PCI_COMMON_MSIX, 0, 2);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_MSIX, 2), 0);
    setup_queue(&f, 16, 1);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK_EQ(status_rd(&f), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                                VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK_EQ(atomic_load(&f.echo.activated), 1);
    CHECK(virtio_pci_queue(f.vp, 0)->event_idx);

    unsigned seen = sink_count(&f.sink_state);
    post_and_kick(&f, "hello");
    CHECK(sink_wait(&f.sink_state, seen));
    CHECK_EQ(f.sink_state.addr, MSI_ADDR_QUEUE);
    CHECK_EQ(f.sink_state.data, MSI_DATA_QUEUE);
    CHECK_EQ(f.sink_state.source, pci_requester_id(f.dev));
    CHECK_EQ(fake_vring_used_idx(&f.ram, &f.vr), 1);
    uint32_t id = 99, len = 99;
    fake_vring_used_elem(&f.ram, &f.vr, 0, &id, &len);
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 5);
    CHECK(memcmp(fake_ram_ptr(&f.ram, BUF_IN_GPA, 5), "hello", 5) == 0);
    /* MSI-X delivery does not touch the ISR */
    CHECK_EQ(bar_rd(&f, f.isr, 1), 0);

    /* config change: the config vector, a new generation */
    uint32_t gen = common_rd(&f, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
    seen = sink_count(&f.sink_state);
    virtio_pci_config_interrupt(f.vp);
    CHECK(sink_wait(&f.sink_state, seen));
    CHECK_EQ(f.sink_state.addr, MSI_ADDR_CONFIG);
    CHECK_EQ(f.sink_state.data, MSI_DATA_CONFIG);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_CFGGENERATION, 1), (gen + 1) & 0xff);

    /* a masked vector stays pending and fires on unmask */
    bar_wr(&f, VIRTIO_PCI_MSIX_TABLE_OFF + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL,
           PCI_MSIX_ENTRY_CTRL_MASKBIT, 4);
    fake_vring_set_used_event(&f.ram, &f.vr, 1); /* ask for the next one */
    seen = sink_count(&f.sink_state);
    post_and_kick(&f, "again");
    for (int i = 0; i < WAIT_MS && fake_vring_used_idx(&f.ram, &f.vr) != 2; i++)
        usleep(1000);
    CHECK_EQ(fake_vring_used_idx(&f.ram, &f.vr), 2);
    for (int i = 0; i < WAIT_MS && !(bar_rd(&f, VIRTIO_PCI_MSIX_PBA_OFF, 8) & 2); i++)
        usleep(1000);
    CHECK_EQ(bar_rd(&f, VIRTIO_PCI_MSIX_PBA_OFF, 8), 2);
    CHECK_EQ(sink_count(&f.sink_state), seen);
    bar_wr(&f, VIRTIO_PCI_MSIX_TABLE_OFF + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 0,
           4);
    CHECK(sink_wait(&f.sink_state, seen));
    CHECK_EQ(f.sink_state.data, MSI_DATA_QUEUE);
    CHECK(memcmp(fake_ram_ptr(&f.ram, BUF_IN_GPA, 5), "again", 5) == 0);
    fixture_fini(&f);
}

/* MSI-X off: ISR bit 0 + INTx; reading the ISR clears it and deasserts. */
static void test_intx_isr(void)
{
    struct fixture f;
    if (fixture_init(&f, true)) {
        CHECK(0);
        return;
    }
    negotiate(&f, base_features);
    /* before DRIVER_OK a config change only moves the generation */
    uint32_t gen = common_rd(&f, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
    virtio_pci_config_interrupt(f.vp);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_CFGGENERATION, 1), (gen + 1) & 0xff);
    CHECK(!intx_high(&f));
    CHECK_EQ(bar_rd(&f, f.isr, 1), 0);
    setup_queue(&f, 16, VIRTIO_MSI_NO_VECTOR);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK(!intx_high(&f));
    post_and_kick(&f, "intx");
    CHECK(wait_for(intx_high, &f));
    CHECK(wait_for(used_idx_nonzero, &f));
    CHECK(f.dev->intx_asserted);
    CHECK_EQ(bar_rd(&f, f.isr, 1), VIRTIO_PCI_ISR_QUEUE);
    CHECK(!intx_high(&f));
    CHECK_EQ(bar_rd(&f, f.isr, 1), 0);
    CHECK_EQ(sink_count(&f.sink_state), 0);
    CHECK(memcmp(fake_ram_ptr(&f.ram, BUF_IN_GPA, 4), "intx", 4) == 0);
    /* config interrupt: ISR bit 1 */
    virtio_pci_config_interrupt(f.vp);
    CHECK(intx_high(&f));
    CHECK_EQ(bar_rd(&f, f.isr, 1), VIRTIO_PCI_ISR_CONFIG);
    CHECK(!intx_high(&f));
    fixture_fini(&f);
}

static void test_reset_clears_state(void)
{
    struct fixture f;
    if (fixture_init(&f, true)) {
        CHECK(0);
        return;
    }
    negotiate(&f, base_features);
    common_wr(&f, VIRTIO_PCI_COMMON_MSIX, 0, 2);
    setup_queue(&f, 16, 1);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    virtio_pci_config_interrupt(f.vp); /* ISR bit 1 pending, INTx high */
    CHECK(intx_high(&f));
    int resets = atomic_load(&f.echo.resets);
    status_wr(&f, 0);
    CHECK_EQ(status_rd(&f), 0);
    CHECK_EQ(atomic_load(&f.echo.resets), resets + 1);
    CHECK(!intx_high(&f));
    CHECK_EQ(bar_rd(&f, f.isr, 1), 0);
    CHECK_EQ(virtio_pci_driver_features(f.vp), 0);
    common_wr(&f, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_GF, 4), 0);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QUEUE_MAX);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
    CHECK_EQ(common_rd(&f, VIRTIO_PCI_COMMON_Q_USEDLO, 4), 0);
    /* a doorbell after reset reaches nobody */
    int notifies = atomic_load(&f.echo.notifies);
    bar_wr(&f, f.notify, 0, 2);
    usleep(QUIET_MS * 1000);
    CHECK_EQ(atomic_load(&f.echo.notifies), notifies);
    /* and the device comes back up */
    negotiate(&f, base_features);
    setup_queue(&f, 16, VIRTIO_MSI_NO_VECTOR);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    post_and_kick(&f, "back");
    CHECK(wait_for(used_idx_nonzero, &f));
    fixture_fini(&f);
}

static bool needs_reset(struct fixture *f)
{
    return status_rd(f) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static void test_device_errors(void)
{
    struct fixture f;
    if (fixture_init(&f, true)) {
        CHECK(0);
        return;
    }
    /* activation failure */
    f.echo.activate_rc = -EIO;
    negotiate(&f, base_features);
    setup_queue(&f, 16, VIRTIO_MSI_NO_VECTOR);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK(needs_reset(&f));
    CHECK_EQ(bar_rd(&f, f.isr, 1), VIRTIO_PCI_ISR_CONFIG);
    f.echo.activate_rc = 0;

    /* a misaligned ring: NEEDS_RESET, no activation */
    int activated = atomic_load(&f.echo.activated);
    negotiate(&f, base_features);
    CHECK(!needs_reset(&f));
    common_wr(&f, VIRTIO_PCI_COMMON_Q_DESCLO, RING_GPA + 1, 4);
    common_wr(&f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK(needs_reset(&f));
    CHECK_EQ(atomic_load(&f.echo.activated), activated);

    /* bus mastering off at DRIVER_OK */
    negotiate(&f, base_features);
    setup_queue(&f, 16, VIRTIO_MSI_NO_VECTOR);
    cfg_wr(&f, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK(needs_reset(&f));
    CHECK_EQ(atomic_load(&f.echo.activated), activated);
    cfg_wr(&f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

    /* DRIVER_OK without FEATURES_OK */
    status_wr(&f, 0);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK(needs_reset(&f));

    /* a device error while running stops queue processing until reset */
    negotiate(&f, base_features);
    setup_queue(&f, 16, VIRTIO_MSI_NO_VECTOR);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK(!needs_reset(&f));
    (void)bar_rd(&f, f.isr, 1);
    virtio_pci_device_error(f.vp, "test");
    CHECK(needs_reset(&f));
    CHECK_EQ(bar_rd(&f, f.isr, 1), VIRTIO_PCI_ISR_CONFIG);
    int notifies = atomic_load(&f.echo.notifies);
    post_and_kick(&f, "dead");
    usleep(QUIET_MS * 1000);
    CHECK_EQ(atomic_load(&f.echo.notifies), notifies);
    CHECK_EQ(fake_vring_used_idx(&f.ram, &f.vr), 0);

    /* a malformed chain (descriptor outside RAM) from the device's pop */
    negotiate(&f, base_features);
    CHECK(!needs_reset(&f));
    setup_queue(&f, 16, VIRTIO_MSI_NO_VECTOR);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    fake_vring_desc(&f.ram, &f.vr, 0, RAM_SIZE * 4, 16, 0, 0);
    fake_vring_publish(&f.ram, &f.vr, 0);
    bar_wr(&f, f.notify, 0, 2);
    CHECK(wait_for(needs_reset, &f));
    fixture_fini(&f);
}

/* VIRTIO_PCI_CAP_PCI_CFG: BAR 4 through a config-space window. */
static void test_cfg_window(void)
{
    struct fixture f;
    if (fixture_init(&f, false)) {
        CHECK(0);
        return;
    }
    unsigned c = f.cfg_cap;
    /* unprogrammed: reads all-ones, writes go nowhere */
    CHECK_EQ(cfg_rd(&f, c + VIRTIO_PCI_CFG_CAP_DATA, 4), UINT32_MAX);
    cfg_wr(&f, c + VIRTIO_PCI_CFG_CAP_DATA, VIRTIO_CONFIG_S_FAILED, 4);
    CHECK_EQ(status_rd(&f), 0);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_BAR, 1);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_NUMQ, 4);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_LENGTH, 2, 4);
    CHECK_EQ(cfg_rd(&f, c + VIRTIO_PCI_CFG_CAP_DATA, 4), 1);
    /* write the status through the window, read it through the BAR */
    cfg_wr(&f, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_STATUS, 4);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_LENGTH, 1, 4);
    cfg_wr(&f, c + VIRTIO_PCI_CFG_CAP_DATA, VIRTIO_CONFIG_S_ACKNOWLEDGE, 4);
    CHECK_EQ(status_rd(&f), VIRTIO_CONFIG_S_ACKNOWLEDGE);
    CHECK_EQ(cfg_rd(&f, c + VIRTIO_PCI_CFG_CAP_DATA, 1), VIRTIO_CONFIG_S_ACKNOWLEDGE);
    /* device config through the window */
    cfg_wr(&f, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_DEVICE_OFF + 4, 4);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
    CHECK_EQ(cfg_rd(&f, c + VIRTIO_PCI_CFG_CAP_DATA, 4), 0x00474643); /* "CFG\0" */
    /* bad programming: another BAR, a length of 3, misaligned: all-ones */
    cfg_wr(&f, c + VIRTIO_PCI_CAP_LENGTH, 3, 4);
    CHECK_EQ(cfg_rd(&f, c + VIRTIO_PCI_CFG_CAP_DATA, 4), UINT32_MAX);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_DEVICE_OFF + 2, 4);
    CHECK_EQ(cfg_rd(&f, c + VIRTIO_PCI_CFG_CAP_DATA, 4), UINT32_MAX);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_BAR, 0, 1);
    cfg_wr(&f, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_DEVICE_OFF, 4);
    CHECK_EQ(cfg_rd(&f, c + VIRTIO_PCI_CFG_CAP_DATA, 4), UINT32_MAX);
    fixture_fini(&f);
}

/* ---- ioeventfd and irqfd wiring (what KVM would get) ------------------------- */

#define FAKE_MAX_BINDS 8
#define FAKE_MAX_GSI 8
#define FAKE_GSI_BASE 24

struct fake_kvm {
    /* ioeventfd */
    int fail;
    unsigned nbound;
    struct { uint64_t addr; unsigned len; int fd; } bound[FAKE_MAX_BINDS];
    /* irqfd */
    atomic_uint msis;                   /* send_msi calls: must stay 0 */
    int next_gsi;
    int irqfd[FAKE_MAX_GSI];
    bool routed[FAKE_MAX_GSI];
    uint16_t route_source[FAKE_MAX_GSI];
    uint64_t route_addr[FAKE_MAX_GSI];
    uint32_t route_data[FAKE_MAX_GSI];
};

static int kvm_ioev_set(void *opaque, bool pio, uint64_t addr, unsigned len, int fd, bool assign)
{
    struct fake_kvm *k = opaque;
    CHECK(!pio);
    if (k->fail)
        return k->fail;
    if (assign) {
        if (k->nbound == FAKE_MAX_BINDS)
            return -ENOSPC;
        k->bound[k->nbound].addr = addr;
        k->bound[k->nbound].len = len;
        k->bound[k->nbound].fd = fd;
        k->nbound++;
        return 0;
    }
    for (unsigned i = 0; i < k->nbound; i++) {
        if (k->bound[i].addr == addr && k->bound[i].fd == fd && k->bound[i].len == len) {
            k->bound[i] = k->bound[--k->nbound];
            return 0;
        }
    }
    return -ENOENT;
}

static int kvm_send_msi(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data)
{
    struct fake_kvm *k = opaque;
    (void)source_id, (void)addr, (void)data;
    atomic_fetch_add(&k->msis, 1);
    return 0;
}

static int kvm_alloc_gsi(void *opaque)
{
    struct fake_kvm *k = opaque;
    return k->next_gsi < FAKE_MAX_GSI ? FAKE_GSI_BASE + k->next_gsi++ : -ENOSPC;
}

static void kvm_free_gsi(void *opaque, unsigned gsi)
{
    (void)opaque, (void)gsi;
}

static int kvm_irqfd(void *opaque, int fd, unsigned gsi, bool assign)
{
    struct fake_kvm *k = opaque;
    k->irqfd[gsi - FAKE_GSI_BASE] = assign ? fd : -1;
    return 0;
}

static int kvm_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                         uint64_t addr, uint32_t data)
{
    struct fake_kvm *k = opaque;
    unsigned i = gsi - FAKE_GSI_BASE;
    k->routed[i] = enabled;
    k->route_source[i] = source_id;
    k->route_addr[i] = addr;
    k->route_data[i] = data;
    return 0;
}

static bool echo_notified(struct fixture *f)
{
    return atomic_load(&f->echo.notifies) > 0;
}

static void test_ioeventfd_irqfd(void)
{
    struct fixture f;
    struct fake_kvm k;
    memset(&k, 0, sizeof(k));
    struct msi_sink sink = {.send_msi = kvm_send_msi, .set_route = kvm_set_route,
                            .alloc_gsi = kvm_alloc_gsi, .free_gsi = kvm_free_gsi,
                            .irqfd = kvm_irqfd, .opaque = &k};
    struct ioevent_sink ioev = {.set = kvm_ioev_set, .opaque = &k};
    struct fixture_opts o = {.sink = &sink, .ioev = &ioev, .nqueues = 2, .behind_iommu = true};
    if (fixture_init_opts(&f, true, &o)) {
        CHECK(0);
        return;
    }
    CHECK(device_features(&f) & (1ULL << VIRTIO_F_ACCESS_PLATFORM));
    /* one GSI + eventfd per vector (config + 2 queues) */
    CHECK_EQ(k.next_gsi, 3);

    /* BAR placed: one 2-byte doorbell per queue; moved: rebound; removed: unbound */
    f.dev->ops->bar_placed(f.dev, VIRTIO_PCI_BAR, true, BAR4_ADDR);
    CHECK_EQ(k.nbound, 2);
    CHECK_EQ(k.bound[0].addr, BAR4_ADDR + VIRTIO_PCI_NOTIFY_OFF);
    CHECK_EQ(k.bound[1].addr, BAR4_ADDR + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULTIPLIER);
    CHECK_EQ(k.bound[0].len, 2);
    f.dev->ops->bar_placed(f.dev, VIRTIO_PCI_BAR, true, 2 * BAR4_ADDR);
    CHECK_EQ(k.nbound, 2);
    CHECK(k.bound[0].addr >= 2 * BAR4_ADDR && k.bound[1].addr >= 2 * BAR4_ADDR);
    f.dev->ops->bar_placed(f.dev, 0, false, 0); /* another BAR: ignored */
    CHECK_EQ(k.nbound, 2);
    f.dev->ops->bar_placed(f.dev, VIRTIO_PCI_BAR, false, 0);
    CHECK_EQ(k.nbound, 0);
    f.dev->ops->bar_placed(f.dev, VIRTIO_PCI_BAR, true, BAR4_ADDR);
    CHECK_EQ(k.nbound, 2);
    int kick0 = -1;
    for (unsigned i = 0; i < k.nbound; i++) {
        if (k.bound[i].addr == BAR4_ADDR + VIRTIO_PCI_NOTIFY_OFF)
            kick0 = k.bound[i].fd;
    }
    CHECK(kick0 >= 0);

    /* the guest renumbered the function: routes carry the new requester id */
    f.dev->devfn = PCI_DEVFN_MAKE(5, 0);
    cfg_wr(&f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    negotiate(&f, base_features | (1ULL << VIRTIO_F_ACCESS_PLATFORM));
    msix_program(&f, 1, MSI_ADDR_QUEUE, MSI_DATA_QUEUE);
    msix_enable(&f);
    bool found = false;
    int irqfd = -1;
    for (unsigned i = 0; i < FAKE_MAX_GSI; i++) {
        if (k.routed[i] && k.route_data[i] == MSI_DATA_QUEUE) {
            found = true;
            irqfd = k.irqfd[i];
            CHECK_EQ(k.route_source[i], PCI_DEVFN_MAKE(5, 0));
            CHECK_EQ(k.route_addr[i], MSI_ADDR_QUEUE);
        }
    }
    CHECK(found);
    CHECK(irqfd >= 0);
    setup_queue(&f, 16, 1);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    CHECK_EQ(virtio_pci_dma(f.vp)->rid, PCI_DEVFN_MAKE(5, 0));
    atomic_store(&f.echo.notifies, 0);

    /* KVM signals the ioeventfd: the I/O thread runs the queue, the vector's
     * irqfd is signalled (no send_msi) */
    post_and_kick(&f, "fd");  /* the BAR write path too (a non-KVM exit) */
    CHECK(wait_for(used_idx_nonzero, &f));
    CHECK(wait_for(echo_notified, &f));
    uint64_t cnt = 0;
    for (int i = 0; i < WAIT_MS && read(irqfd, &cnt, sizeof(cnt)) != sizeof(cnt); i++)
        usleep(1000);
    CHECK_EQ(cnt, 1);
    CHECK_EQ(atomic_load(&k.msis), 0);
    atomic_store(&f.echo.notifies, 0);
    uint64_t one = 1;
    CHECK_EQ(write(kick0, &one, sizeof(one)), sizeof(one));
    CHECK(wait_for(echo_notified, &f));
    fixture_fini(&f);
    /* destroy unbound the doorbells and gave the vectors back */
    CHECK_EQ(k.nbound, 0);
    for (unsigned i = 0; i < FAKE_MAX_GSI; i++)
        CHECK(!k.routed[i]);
}

/* A binding KVM refuses: the doorbell still works through the BAR callback. */
static void test_ioeventfd_fallback(void)
{
    struct fixture f;
    struct fake_kvm k;
    memset(&k, 0, sizeof(k));
    k.fail = -ENOSPC;
    struct ioevent_sink ioev = {.set = kvm_ioev_set, .opaque = &k};
    struct fixture_opts o = {.ioev = &ioev};
    if (fixture_init_opts(&f, true, &o)) {
        CHECK(0);
        return;
    }
    f.dev->ops->bar_placed(f.dev, VIRTIO_PCI_BAR, true, BAR4_ADDR);
    CHECK_EQ(k.nbound, 0);
    negotiate(&f, base_features);
    setup_queue(&f, 16, VIRTIO_MSI_NO_VECTOR);
    status_wr(&f, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    post_and_kick(&f, "bar");
    CHECK(wait_for(used_idx_nonzero, &f));
    /* bad doorbells are dropped */
    int notifies = atomic_load(&f.echo.notifies);
    bar_wr(&f, f.notify + 1 * f.notify_mult, 1, 2);     /* no queue 1 */
    bar_wr(&f, f.notify + 2, 0, 2);                     /* not a doorbell */
    bar_wr(&f, f.notify, 0, 1);                         /* wrong width */
    usleep(QUIET_MS * 1000);
    CHECK_EQ(atomic_load(&f.echo.notifies), notifies);
    fixture_fini(&f);
    /* no ioeventfd sink at all: bar_placed copes too */
    if (fixture_init(&f, false)) {
        CHECK(0);
        return;
    }
    f.dev->ops->bar_placed(f.dev, VIRTIO_PCI_BAR, true, BAR4_ADDR);
    f.dev->ops->bar_placed(f.dev, VIRTIO_PCI_BAR, false, 0);
    fixture_fini(&f);
}

static void test_bad_config(void)
{
    struct fake_sink s = {0};
    struct msi_sink sink = {.send_msi = sink_send_msi, .opaque = &s};
    struct echo e = {0};
    struct virtio_pci *vp = NULL;
    struct virtio_pci_config cfg = {
        .dev = {.name = "bad", .device_id = VIRTIO_ID_RNG, .nqueues = 1,
                .queue_max_size = QUEUE_MAX, .ops = &echo_ops, .opaque = &e},
        .sink = &sink,
    };
    cfg.dev.nqueues = 0;
    CHECK_EQ(virtio_pci_create(&cfg, &vp), -EINVAL);
    cfg.dev.nqueues = VIRTIO_PCI_MAX_QUEUES + 1;
    CHECK_EQ(virtio_pci_create(&cfg, &vp), -EINVAL);
    cfg.dev.nqueues = 1;
    cfg.dev.queue_max_size = 100;
    CHECK_EQ(virtio_pci_create(&cfg, &vp), -EINVAL);
    cfg.dev.queue_max_size = QUEUE_MAX;
    cfg.dev.config_size = VIRTIO_PCI_REGION_SIZE + 1;
    CHECK_EQ(virtio_pci_create(&cfg, &vp), -EINVAL);
    cfg.dev.config_size = 0;
    cfg.sink = NULL;
    CHECK_EQ(virtio_pci_create(&cfg, &vp), -EINVAL);
    CHECK(vp == NULL);
}

int main(void)
{
    test_identity();
    test_features_ok();
    test_queue_registers();
    test_msix_echo();
    test_intx_isr();
    test_reset_clears_state();
    test_device_errors();
    test_cfg_window();
    test_ioeventfd_irqfd();
    test_ioeventfd_fallback();
    test_bad_config();
    return check_result("test_virtio_pci");
}
