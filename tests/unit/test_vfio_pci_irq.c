/* SPDX-License-Identifier: MIT */
/*
 * The VFIO PCI device model's interrupts against a fake device and a
 * recording msi_sink: MSI-X enable/unmask hands the vectors' irqfds to the
 * device and installs routes with the function's requester id; a vector
 * firing while masked sets its pending bit and is delivered on unmask; MSI
 * through the I/O thread; INTx raised by the trigger eventfd, lowered and
 * unmasked at the host on the guest's EOI, and turned off when MSI-X is on.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "devices/bus.h"
#include "devices/ioapic.h"
#include "devices/pci/pci_host.h"
#include "devices/vfio/vfio_pci.h"
#include "fake_vfio_dev.h"
#include "vmm/layout.h"

#define MAX_GSI 128
#define FIRST_GSI 40
#define DEVFN 0x18 /* 00:03.0: INTA lands on line 3, GSI 19 */
#define INTX_VECTOR 0x30

/* ---- a recording sink ---------------------------------------------------------- */

struct route {
    bool enabled;
    uint16_t rid;
    uint64_t addr;
    uint32_t data;
};

struct rec_sink {
    pthread_mutex_t lock;
    bool irqfd_support;
    int next_gsi;
    int gsi_fd[MAX_GSI];
    struct route route[MAX_GSI];
    unsigned sends;
    uint16_t last_rid;
    uint64_t last_addr;
    uint32_t last_data;
};

static struct rec_sink rs;

static int rs_send(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    (void)opaque;
    pthread_mutex_lock(&rs.lock);
    rs.sends++;
    rs.last_rid = rid;
    rs.last_addr = addr;
    rs.last_data = data;
    pthread_mutex_unlock(&rs.lock);
    return 0;
}

static int rs_route(void *opaque, unsigned gsi, bool en, uint16_t rid, uint64_t addr,
                    uint32_t data)
{
    (void)opaque;
    if (gsi >= MAX_GSI)
        return -EINVAL;
    pthread_mutex_lock(&rs.lock);
    rs.route[gsi] = (struct route){ .enabled = en, .rid = rid, .addr = addr, .data = data };
    pthread_mutex_unlock(&rs.lock);
    return 0;
}

static int rs_alloc_gsi(void *opaque)
{
    (void)opaque;
    return rs.next_gsi < MAX_GSI ? rs.next_gsi++ : -ENOSPC;
}

static void rs_free_gsi(void *opaque, unsigned gsi)
{
    (void)opaque;
    (void)gsi;
}

static int rs_irqfd(void *opaque, int fd, unsigned gsi, bool assign)
{
    (void)opaque;
    if (gsi >= MAX_GSI)
        return -EINVAL;
    rs.gsi_fd[gsi] = assign ? fd : -1;
    return 0;
}

static struct msi_sink sink_with_irqfd = {
    .send_msi = rs_send, .set_route = rs_route, .alloc_gsi = rs_alloc_gsi,
    .free_gsi = rs_free_gsi, .irqfd = rs_irqfd,
};
static struct msi_sink sink_plain = { .send_msi = rs_send, .set_route = rs_route };

static void rs_reset(void)
{
    memset(&rs, 0, sizeof(rs));
    pthread_mutex_init(&rs.lock, NULL);
    rs.next_gsi = FIRST_GSI;
    for (int i = 0; i < MAX_GSI; i++)
        rs.gsi_fd[i] = -1;
}

static unsigned rs_sends(void)
{
    pthread_mutex_lock(&rs.lock);
    unsigned n = rs.sends;
    pthread_mutex_unlock(&rs.lock);
    return n;
}

static int gsi_of_fd(int fd)
{
    for (int i = 0; i < MAX_GSI; i++) {
        if (fd >= 0 && rs.gsi_fd[i] == fd)
            return i;
    }
    return -1;
}

/* ---- fixture ------------------------------------------------------------------------ */

struct fixture {
    struct fake_vfio_dev fake;
    struct vfio_pci *v;
    struct pci_device *dev;
};

static bool fixture_init(struct fixture *fx, const struct msi_sink *sink, struct ioapic *io)
{
    memset(fx, 0, sizeof(*fx));
    if (fake_vfio_dev_init(&fx->fake))
        return false;
    struct vfio_pci_config cfg = {
        .dev = fake_vfio_dev_ops(&fx->fake), .name = "0000:05:00.0", .sink = sink,
        .ioapic = io,
    };
    char err[256] = "";
    int ret = vfio_pci_create(&cfg, &fx->v, err, sizeof(err));
    if (ret) {
        fprintf(stderr, "create: %s\n", err);
        return false;
    }
    fx->dev = vfio_pci_pci_device(fx->v);
    return true;
}

static void fixture_fini(struct fixture *fx)
{
    vfio_pci_destroy(fx->v);
    fake_vfio_dev_destroy(&fx->fake);
}

static void wr(struct pci_device *d, unsigned off, uint32_t val, unsigned size)
{
    pci_config_write(d, off, &val, size);
}

static uint64_t bar_rd(struct pci_device *d, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    d->bars[0].ops->read(d->bars[0].opaque, off, &v, size);
    return v;
}

static void bar_wr(struct pci_device *d, uint64_t off, uint64_t val, unsigned size)
{
    d->bars[0].ops->write(d->bars[0].opaque, off, &val, size);
}

static void msix_program(struct pci_device *d, unsigned vec, uint64_t addr, uint32_t data,
                         bool masked)
{
    uint64_t e = FAKE_MSIX_TABLE + (uint64_t)vec * PCI_MSIX_ENTRY_SIZE;
    bar_wr(d, e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr, 4);
    bar_wr(d, e + PCI_MSIX_ENTRY_UPPER_ADDR, (uint32_t)(addr >> 32), 4);
    bar_wr(d, e + PCI_MSIX_ENTRY_DATA, data, 4);
    bar_wr(d, e + PCI_MSIX_ENTRY_VECTOR_CTRL, masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0, 4);
}

static void signal_fd(int fd)
{
    uint64_t one = 1;
    CHECK_EQ(write(fd, &one, sizeof(one)), sizeof(one));
}

static uint64_t fd_count(int fd)
{
    uint64_t cnt = 0;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 1000) == 1 && read(fd, &cnt, sizeof(cnt)) != sizeof(cnt))
        cnt = 0;
    return cnt;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Wait up to 2 s for cond(). */
#define WAIT_FOR(cond)                                                                   \
    do {                                                                                 \
        for (int wait_i_ = 0; wait_i_ < 200 && !(cond); wait_i_++)                       \
            sleep_ms(10);                                                                \
    } while (0)

/* ---- MSI-X --------------------------------------------------------------------------- */

static void test_msix(void)
{
    rs_reset();
    struct fixture fx;
    CHECK(fixture_init(&fx, &sink_with_irqfd, NULL));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    d->devfn = DEVFN; /* as attached: requester id 00:03.0 */
    CHECK_EQ(vfio_pci_start(fx.v), 0);
    wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

    /* enable with every vector masked: the device gets 8 eventfds, no route yet */
    wr(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
    struct fake_irq_call *c = &fx.fake.calls[fx.fake.ncalls - 1];
    CHECK_EQ(c->index, VFIO_PCI_MSIX_IRQ_INDEX);
    CHECK_EQ(c->start, 0);
    CHECK_EQ(c->count, FAKE_MSIX_NVEC);
    for (unsigned i = 0; i < FAKE_MSIX_NVEC; i++)
        CHECK(fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][i] >= 0);
    int masked_fd1 = fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][1];
    CHECK_EQ(gsi_of_fd(masked_fd1), -1); /* not an irqfd */

    /* unmask vector 1: route with the requester id, device switched to the irqfd */
    msix_program(d, 1, 0xfee01000, 0x41, false);
    int fd1 = fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][1];
    int gsi1 = gsi_of_fd(fd1);
    CHECK(gsi1 >= FIRST_GSI);
    if (gsi1 >= 0) {
        CHECK(rs.route[gsi1].enabled);
        CHECK_EQ(rs.route[gsi1].rid, DEVFN);
        CHECK_EQ(rs.route[gsi1].addr, 0xfee01000);
        CHECK_EQ(rs.route[gsi1].data, 0x41);
    }
    c = &fx.fake.calls[fx.fake.ncalls - 1];
    CHECK_EQ(c->start, 1);
    CHECK_EQ(c->count, 1);

    /* reprogram the message while unmasked: the route follows, same eventfd */
    unsigned calls = fx.fake.ncalls;
    bar_wr(d, FAKE_MSIX_TABLE + 1 * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_DATA, 0x42, 4);
    if (gsi1 >= 0)
        CHECK_EQ(rs.route[gsi1].data, 0x42);
    CHECK_EQ(fx.fake.ncalls, calls);

    /* the guest renumbers (requester id changes): the next update re-creates
     * the route with the new id and hands the device the new eventfd */
    d->devfn = DEVFN + 8;
    bar_wr(d, FAKE_MSIX_TABLE + 1 * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_DATA, 0x43, 4);
    int gsi1b = gsi_of_fd(fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][1]);
    CHECK(gsi1b >= FIRST_GSI);
    if (gsi1b >= 0) {
        CHECK(rs.route[gsi1b].enabled);
        CHECK_EQ(rs.route[gsi1b].rid, DEVFN + 8);
        CHECK_EQ(rs.route[gsi1b].data, 0x43);
    }
    CHECK_EQ(fx.fake.ncalls, calls + 1);
    fd1 = fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][1];
    gsi1 = gsi1b;
    d->devfn = DEVFN;

    /* vector 2 fires while masked: pending bit, then delivered on unmask */
    msix_program(d, 2, 0xfee02000, 0x52, true);
    signal_fd(fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][2]);
    WAIT_FOR(bar_rd(d, FAKE_MSIX_PBA, 8) & (1u << 2));
    CHECK_EQ(bar_rd(d, FAKE_MSIX_PBA, 8), 1u << 2);
    bar_wr(d, FAKE_MSIX_TABLE + 2 * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
    int fd2 = fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][2];
    int gsi2 = gsi_of_fd(fd2);
    CHECK(gsi2 >= FIRST_GSI && gsi2 != gsi1);
    if (gsi2 >= 0)
        CHECK(rs.route[gsi2].enabled && rs.route[gsi2].data == 0x52);
    CHECK_EQ(fd_count(fd2), 1);          /* delivered through the irqfd */
    CHECK_EQ(bar_rd(d, FAKE_MSIX_PBA, 8), 0);

    /* mask vector 1 again: device back on the user eventfd, route removed */
    bar_wr(d, FAKE_MSIX_TABLE + 1 * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL,
           PCI_MSIX_ENTRY_CTRL_MASKBIT, 4);
    CHECK_EQ(fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][1], masked_fd1);
    if (gsi1 >= 0)
        CHECK(!rs.route[gsi1].enabled);

    /* function mask: every vector leaves its irqfd */
    wr(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
    CHECK(gsi_of_fd(fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][2]) < 0);
    wr(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
    CHECK_EQ(fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][2], fd2);

    /* disable: the index goes off at the device */
    wr(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, 0, 2);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSIX_IRQ_INDEX], 0);
    c = &fx.fake.calls[fx.fake.ncalls - 1];
    CHECK_EQ(c->index, VFIO_PCI_MSIX_IRQ_INDEX);
    CHECK_EQ(c->count, 0);
    if (gsi2 >= 0)
        CHECK(!rs.route[gsi2].enabled);

    /* re-enable, then reset: everything off at the device, routes gone */
    wr(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
    msix_program(d, 3, 0xfee03000, 0x63, false);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSIX_IRQ_INDEX], FAKE_MSIX_NVEC);
    CHECK_EQ(vfio_pci_reset(fx.v), 0);
    CHECK_EQ(fx.fake.resets, 1);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSIX_IRQ_INDEX], 0);
    CHECK_EQ(bar_rd(d, FAKE_MSIX_TABLE + 3 * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4),
             PCI_MSIX_ENTRY_CTRL_MASKBIT);
    for (int g = FIRST_GSI; g < MAX_GSI; g++)
        CHECK(!rs.route[g].enabled);

    vfio_pci_stop(fx.v);
    fixture_fini(&fx);
}

/* Without irqfd support every vector goes through the I/O thread. */
static void test_msix_no_irqfd(void)
{
    rs_reset();
    struct fixture fx;
    CHECK(fixture_init(&fx, &sink_plain, NULL));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    d->devfn = DEVFN;
    CHECK_EQ(vfio_pci_start(fx.v), 0);
    wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    wr(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
    msix_program(d, 0, 0xfee00000, 0x70, false);
    signal_fd(fx.fake.cur_fd[VFIO_PCI_MSIX_IRQ_INDEX][0]);
    WAIT_FOR(rs_sends() >= 1);
    CHECK_EQ(rs_sends(), 1);
    CHECK_EQ(rs.last_rid, DEVFN);
    CHECK_EQ(rs.last_addr, 0xfee00000);
    CHECK_EQ(rs.last_data, 0x70);
    vfio_pci_stop(fx.v);
    fixture_fini(&fx);
}

/* ---- MSI ------------------------------------------------------------------------------ */

static void test_msi(void)
{
    rs_reset();
    struct fixture fx;
    CHECK(fixture_init(&fx, &sink_plain, NULL));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    d->devfn = DEVFN;
    CHECK_EQ(vfio_pci_start(fx.v), 0);
    wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    unsigned cap = FAKE_CAP_MSI;
    wr(d, cap + PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
    wr(d, cap + PCI_MSI_ADDRESS_HI, 0, 4);
    wr(d, cap + PCI_MSI_DATA_64, 0x80, 2);
    wr(d, cap + PCI_MSI_MASK_64, 0x2, 4); /* vector 1 masked */
    /* enable 2 vectors */
    wr(d, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | (1u << 4), 2);
    struct fake_irq_call *c = &fx.fake.calls[fx.fake.ncalls - 1];
    CHECK_EQ(c->index, VFIO_PCI_MSI_IRQ_INDEX);
    CHECK_EQ(c->count, 2);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSI_IRQ_INDEX], 2);
    /* vector 1 fires masked: pending, no delivery */
    signal_fd(fx.fake.cur_fd[VFIO_PCI_MSI_IRQ_INDEX][1]);
    uint32_t pending = 0;
    WAIT_FOR((pci_config_read(d, cap + PCI_MSI_PENDING_64, &pending, 4), pending & 2));
    CHECK_EQ(pending, 2);
    CHECK_EQ(rs_sends(), 0);
    /* vector 0 fires: delivered with its data */
    signal_fd(fx.fake.cur_fd[VFIO_PCI_MSI_IRQ_INDEX][0]);
    WAIT_FOR(rs_sends() >= 1);
    CHECK_EQ(rs_sends(), 1);
    CHECK_EQ(rs.last_data, 0x80);
    CHECK_EQ(rs.last_rid, DEVFN);
    /* unmask vector 1: the pending one is delivered with data | 1 */
    wr(d, cap + PCI_MSI_MASK_64, 0, 4);
    CHECK_EQ(rs_sends(), 2);
    CHECK_EQ(rs.last_data, 0x81);
    /* a count change re-enables with the new count */
    wr(d, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | (2u << 4), 2);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSI_IRQ_INDEX], 4);
    /* disable */
    wr(d, cap + PCI_MSI_FLAGS, 0, 2);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSI_IRQ_INDEX], 0);
    vfio_pci_stop(fx.v);
    fixture_fini(&fx);
}

/* ---- INTx ------------------------------------------------------------------------------ */

struct machine {
    struct bus pio, mmio;
    struct pci_host *host;
    struct ioapic *ioapic;
};

static bool machine_init(struct machine *m)
{
    memset(m, 0, sizeof(*m));
    if (bus_init(&m->pio, "pio") || bus_init(&m->mmio, "mmio"))
        return false;
    if (ioapic_create(&sink_plain, &m->ioapic))
        return false;
    struct pci_host_config cfg = {
        .pio = &m->pio, .mmio = &m->mmio, .sink = &sink_plain,
        .ecam_base = LAYOUT_ECAM_BASE, .ecam_buses = LAYOUT_ECAM_BUSES,
        .mmio32_base = LAYOUT_PCI_MMIO32_START, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = LAYOUT_PCI_MMIO64_MIN_START, .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
        .io_base = LAYOUT_PCI_IO_START, .io_size = 0x1000,
    };
    for (unsigned i = 0; i < LAYOUT_PCI_INTX_PINS; i++)
        cfg.intx[i] = ioapic_irq_line(m->ioapic, LAYOUT_PCI_INTX_GSI_BASE + i);
    return pci_host_create(&cfg, &m->host) == 0;
}

static void machine_fini(struct machine *m)
{
    pci_host_destroy(m->host);
    ioapic_destroy(m->ioapic);
    bus_destroy(&m->pio);
    bus_destroy(&m->mmio);
}

static void ioapic_reg_write(struct ioapic *io, uint32_t reg, uint32_t val)
{
    ioapic_bus_ops.write(io, IOAPIC_IOREGSEL, &reg, 4);
    ioapic_bus_ops.write(io, IOAPIC_IOWIN, &val, 4);
}

static void test_intx(void)
{
    rs_reset();
    struct machine m;
    CHECK(machine_init(&m));
    struct fixture fx;
    CHECK(fixture_init(&fx, &sink_plain, m.ioapic));
    if (!fx.v || !m.host)
        return;
    struct pci_device *d = fx.dev;
    CHECK_EQ(pci_cfg_get8(d, PCI_INTERRUPT_PIN), 1);
    CHECK_EQ(pci_host_attach(m.host, NULL, DEVFN, d), 0);
    CHECK_EQ(pci_host_assign_resources(m.host), 0);
    unsigned pin = LAYOUT_PCI_INTX_GSI_BASE + 3;
    ioapic_reg_write(m.ioapic, IOAPIC_REG_REDTBL_HI(pin), 0);
    ioapic_reg_write(m.ioapic, IOAPIC_REG_REDTBL_LO(pin), INTX_VECTOR | IOAPIC_RTE_TRIGGER_LEVEL);

    CHECK_EQ(vfio_pci_start(fx.v), 0);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_INTX_IRQ_INDEX], 1);
    int trigger = fx.fake.cur_fd[VFIO_PCI_INTX_IRQ_INDEX][0];
    CHECK(trigger >= 0);
    CHECK(fx.fake.unmask_fd >= 0);

    /* the host signals INTx: the pin is raised and delivered once */
    signal_fd(trigger);
    WAIT_FOR(rs_sends() >= 1);
    CHECK_EQ(rs_sends(), 1);
    CHECK_EQ(rs.last_data & 0xff, INTX_VECTOR);
    CHECK(d->intx_asserted);
    /* EOI: pin lowered before re-evaluation (no second delivery), host unmasked */
    ioapic_eoi(m.ioapic, INTX_VECTOR);
    CHECK(!d->intx_asserted);
    CHECK_EQ(fd_count(fx.fake.unmask_fd), 1);
    sleep_ms(20);
    CHECK_EQ(rs_sends(), 1);
    /* again */
    signal_fd(trigger);
    WAIT_FOR(rs_sends() >= 2);
    CHECK_EQ(rs_sends(), 2);
    /* the guest turns MSI-X on: INTx off at the device first, line lowered */
    pci_config_write(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, &(uint16_t){ PCI_MSIX_FLAGS_ENABLE }, 2);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_INTX_IRQ_INDEX], 0);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSIX_IRQ_INDEX], FAKE_MSIX_NVEC);
    CHECK(!d->intx_asserted);
    CHECK_EQ(fx.fake.unmask_fd, -1);
    /* and off again: INTx comes back */
    pci_config_write(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, &(uint16_t){ 0 }, 2);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_MSIX_IRQ_INDEX], 0);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_INTX_IRQ_INDEX], 1);

    vfio_pci_stop(fx.v);
    CHECK_EQ(fx.fake.enabled[VFIO_PCI_INTX_IRQ_INDEX], 0);
    machine_fini(&m);
    fixture_fini(&fx);
}

int main(void)
{
    test_msix();
    test_msix_no_irqfd();
    test_msi();
    test_intx();
    return check_result("test_vfio_pci_irq");
}
