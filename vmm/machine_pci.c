/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "pci"
#include "vmm/machine_pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/ioapic.h"
#include "devices/pci/pci_host.h"
#include "devices/pci/pci_regs.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define MACHINE_PCI_MAX_SLOTS 32

static int machine_pci_create_host(struct machine_pci *p, char *err, size_t errlen)
{
    struct pci_host_config hc = {
        .pio = p->cfg.pio,
        .mmio = p->cfg.mmio,
        .sink = &p->cfg.sink,
        .ecam_base = LAYOUT_ECAM_BASE,
        .ecam_buses = LAYOUT_ECAM_BUSES,
        .mmio32_base = LAYOUT_PCI_MMIO32_START,
        .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = p->cfg.mmio64_base,
        .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
        .io_base = LAYOUT_PCI_IO_START,
        .io_size = LAYOUT_PCI_IO_SIZE,
    };
    for (unsigned i = 0; i < LAYOUT_PCI_INTX_PINS; i++)
        hc.intx[i] = ioapic_irq_line(p->cfg.ioapic, LAYOUT_PCI_INTX_GSI_BASE + i);
    int ret = pci_host_create(&hc, &p->host);
    if (ret)
        snprintf(err, errlen, "cannot create the PCI host bridge: %s", strerror(-ret));
    p->next_slot = 1; /* 00:00.0 is the host bridge */
    return ret;
}

/* Places `dev` in the next free slot of bus 0, behind a new root port unless
 * the user asked for bus 0. */
static int machine_pci_place(struct machine_pci *p, struct pci_device *dev, enum cli_pci_bus bus,
                             char *err, size_t errlen)
{
    if (p->next_slot >= MACHINE_PCI_MAX_SLOTS) {
        snprintf(err, errlen, "too many PCI devices: bus 0 has %d slots", MACHINE_PCI_MAX_SLOTS);
        return -ENOSPC;
    }
    uint8_t devfn = PCI_DEVFN_MAKE(p->next_slot, 0);
    p->next_slot++;
    struct pci_bridge *port = NULL;
    int ret = 0;
    if (bus == CLI_BUS_ROOT_PORT) {
        ret = pci_host_add_root_port(p->host, devfn, &port);
        devfn = PCI_DEVFN_MAKE(0, 0);
    }
    if (ret == 0)
        ret = pci_host_attach(p->host, port, devfn, dev);
    if (ret)
        snprintf(err, errlen, "cannot place %s on the PCI bus: %s", dev->name, strerror(-ret));
    return ret;
}

static struct virtio_pci_config machine_pci_transport(const struct machine_pci *p)
{
    return (struct virtio_pci_config){
        .sink = &p->cfg.sink,
        .ioev = &p->cfg.ioev,
        .ram = p->cfg.ram,
        .nram = p->cfg.nram,
        .behind_iommu = false,
    };
}

static int machine_pci_create_disks(struct machine_pci *p, bool *user_error, char *err,
                                    size_t errlen)
{
    const struct cli_options *o = p->cfg.opts;
    struct virtio_pci_config t = machine_pci_transport(p);
    for (unsigned i = 0; i < o->ndisks; i++) {
        const struct cli_disk *d = &o->disks[i];
        struct virtio_blk_options bo = {.path = d->path, .readonly = d->readonly, .id = d->id};
        *user_error = true;
        int ret = virtio_blk_create(&bo, &t, &p->disks[i], err, errlen);
        if (ret)
            return ret;
        p->ndisks++;
        *user_error = false;
        ret = machine_pci_place(p, virtio_blk_pci_device(p->disks[i]), d->bus, err, errlen);
        if (ret)
            return ret;
    }
    return 0;
}

static int machine_pci_create_nets(struct machine_pci *p, bool *user_error, char *err,
                                   size_t errlen)
{
    const struct cli_options *o = p->cfg.opts;
    struct virtio_pci_config t = machine_pci_transport(p);
    for (unsigned i = 0; i < o->nnets; i++) {
        const struct cli_net *n = &o->nets[i];
        struct virtio_net_options no = {.tap = n->tap, .mac_set = n->mac_set, .queue_pairs = 1};
        memcpy(no.mac, n->mac, sizeof(no.mac));
        *user_error = true;
        int ret = virtio_net_create(&no, &t, &p->nets[i], err, errlen);
        if (ret)
            return ret;
        p->nnets++;
        *user_error = false;
        ret = machine_pci_place(p, virtio_net_pci_device(p->nets[i]), n->bus, err, errlen);
        if (ret)
            return ret;
    }
    return 0;
}

static int machine_pci_create_rng(struct machine_pci *p, char *err, size_t errlen)
{
    if (!p->cfg.opts->rng)
        return 0;
    struct virtio_pci_config t = machine_pci_transport(p);
    struct virtio_rng_options ro = {0};
    int ret = virtio_rng_create(&ro, &t, &p->rng, err, errlen);
    if (ret)
        return ret;
    return machine_pci_place(p, virtio_rng_pci_device(p->rng), p->cfg.opts->rng_bus, err, errlen);
}

int machine_pci_create(struct machine_pci *p, const struct machine_pci_config *cfg,
                       bool *user_error, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    *user_error = false;
    int ret = machine_pci_create_host(p, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_disks(p, user_error, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_nets(p, user_error, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_rng(p, err, errlen);
    if (ret == 0) {
        ret = pci_host_assign_resources(p->host);
        if (ret)
            snprintf(err, errlen, "cannot fit the PCI devices' BARs in the PCI windows: %s",
                     strerror(-ret));
    }
    if (ret)
        machine_pci_destroy(p);
    return ret;
}

int machine_pci_start(struct machine_pci *p, char *err, size_t errlen)
{
    int ret = 0;
    for (unsigned i = 0; i < p->ndisks && !ret; i++)
        ret = virtio_blk_start(p->disks[i]);
    for (unsigned i = 0; i < p->nnets && !ret; i++)
        ret = virtio_net_start(p->nets[i]);
    if (!ret && p->rng)
        ret = virtio_rng_start(p->rng);
    if (ret)
        snprintf(err, errlen, "cannot start the virtio I/O threads: %s", strerror(-ret));
    return ret;
}

/* Device work stops before the topology goes: an I/O thread may still be
 * raising INTx or MSIs through the host. */
static void machine_pci_stop_io(struct machine_pci *p)
{
    for (unsigned i = 0; i < p->ndisks; i++)
        io_thread_stop(virtio_pci_io_thread(virtio_blk_virtio_pci(p->disks[i])));
    for (unsigned i = 0; i < p->nnets; i++)
        io_thread_stop(virtio_pci_io_thread(virtio_net_virtio_pci(p->nets[i])));
    if (p->rng)
        io_thread_stop(virtio_pci_io_thread(virtio_rng_virtio_pci(p->rng)));
}

void machine_pci_destroy(struct machine_pci *p)
{
    machine_pci_stop_io(p);
    /* then the host: it takes every BAR and config window off the buses and
     * forgets the devices, which are freed last */
    if (p->host)
        pci_host_destroy(p->host);
    p->host = NULL;
    for (unsigned i = 0; i < p->ndisks; i++)
        virtio_blk_destroy(p->disks[i]);
    for (unsigned i = 0; i < p->nnets; i++)
        virtio_net_destroy(p->nets[i]);
    if (p->rng)
        virtio_rng_destroy(p->rng);
    memset(p, 0, sizeof(*p));
}
