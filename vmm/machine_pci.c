/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "pci"
#include "vmm/machine_pci.h"
#include "vmm/machine_pci_internal.h"
#include "vmm/machine_vfio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi.h"
#include "devices/edu.h"
#include "devices/ioapic.h"
#include "devices/pci/pci_host.h"
#include "devices/pci/pci_regs.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"
#include "iommu/amd/amdvi.h"
#include "iommu/amd/amdvi_ir.h"
#include "iommu/ir_sink.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define MACHINE_PCI_MAX_SLOTS 32
/* 00:14.0 is the devid AMD-Vi guests expect for the southbridge IOAPIC. */
#define MACHINE_PCI_IOAPIC_SLOT 0x14

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
int machine_pci_place(struct machine_pci *p, struct pci_device *dev,
                      const struct cli_pci_place *place, char *err, size_t errlen)
{
    if (p->next_slot == MACHINE_PCI_IOAPIC_SLOT)
        p->next_slot++;
    if (p->next_slot >= MACHINE_PCI_MAX_SLOTS || p->nslots == MACHINE_PCI_MAX_DEVICES) {
        snprintf(err, errlen, "too many PCI devices: bus 0 has %d slots", MACHINE_PCI_MAX_SLOTS);
        return -ENOSPC;
    }
    uint8_t devfn = PCI_DEVFN_MAKE(p->next_slot, 0);
    p->next_slot++;
    struct pci_bridge *port = NULL;
    int ret = 0;
    if (place->bus == CLI_BUS_ROOT_PORT) {
        ret = pci_host_add_root_port(p->host, devfn, &port);
        devfn = PCI_DEVFN_MAKE(0, 0);
    }
    if (ret == 0)
        ret = pci_host_attach(p->host, port, devfn, dev);
    if (ret) {
        snprintf(err, errlen, "cannot place %s on the PCI bus: %s", dev->name, strerror(-ret));
        return ret;
    }
    p->slots[p->nslots++] = (struct machine_pci_slot){
        .dev = dev, .port = port, .behind_iommu = cli_behind_iommu(p->cfg.opts, place)};
    return 0;
}

/* Puts a device's DMA behind the IOMMU when its placement asks for it. */
static void machine_pci_dma_behind(struct machine_pci *p, struct dma_space *dma,
                                   const struct cli_pci_place *place)
{
    if (!p->amdvi || !cli_behind_iommu(p->cfg.opts, place))
        return;
    struct dma_translator tr = amdvi_translator(p->amdvi);
    dma_space_set_translator(dma, &tr);
}

static struct virtio_pci_config machine_pci_transport(const struct machine_pci *p,
                                                      const struct cli_pci_place *place)
{
    return (struct virtio_pci_config){
        .sink = &p->cfg.sink,
        .ioev = &p->cfg.ioev,
        .ram = p->cfg.ram,
        .nram = p->cfg.nram,
        .behind_iommu = p->amdvi && cli_behind_iommu(p->cfg.opts, place),
    };
}

/* Places a virtio device and puts its DMA behind the IOMMU if asked. */
static int machine_pci_place_virtio(struct machine_pci *p, struct virtio_pci *vp,
                                    const struct cli_pci_place *place, char *err, size_t errlen)
{
    machine_pci_dma_behind(p, virtio_pci_dma(vp), place);
    return machine_pci_place(p, virtio_pci_pci_device(vp), place, err, errlen);
}

static int machine_pci_create_disks(struct machine_pci *p, bool *user_error, char *err,
                                    size_t errlen)
{
    const struct cli_options *o = p->cfg.opts;
    for (unsigned i = 0; i < o->ndisks; i++) {
        const struct cli_disk *d = &o->disks[i];
        struct virtio_pci_config t = machine_pci_transport(p, &d->place);
        struct virtio_blk_options bo = {.path = d->path, .readonly = d->readonly, .id = d->id};
        *user_error = true;
        int ret = virtio_blk_create(&bo, &t, &p->disks[i], err, errlen);
        if (ret)
            return ret;
        p->ndisks++;
        *user_error = false;
        ret = machine_pci_place_virtio(p, virtio_blk_virtio_pci(p->disks[i]), &d->place, err,
                                       errlen);
        if (ret)
            return ret;
    }
    return 0;
}

static int machine_pci_create_nets(struct machine_pci *p, bool *user_error, char *err,
                                   size_t errlen)
{
    const struct cli_options *o = p->cfg.opts;
    for (unsigned i = 0; i < o->nnets; i++) {
        const struct cli_net *n = &o->nets[i];
        struct virtio_pci_config t = machine_pci_transport(p, &n->place);
        struct virtio_net_options no = {.tap = n->tap, .mac_set = n->mac_set, .queue_pairs = 1};
        memcpy(no.mac, n->mac, sizeof(no.mac));
        *user_error = true;
        int ret = virtio_net_create(&no, &t, &p->nets[i], err, errlen);
        if (ret)
            return ret;
        p->nnets++;
        *user_error = false;
        ret = machine_pci_place_virtio(p, virtio_net_virtio_pci(p->nets[i]), &n->place, err,
                                       errlen);
        if (ret)
            return ret;
    }
    return 0;
}

static int machine_pci_create_rng(struct machine_pci *p, char *err, size_t errlen)
{
    if (!p->cfg.opts->rng)
        return 0;
    const struct cli_pci_place *place = &p->cfg.opts->rng_place;
    struct virtio_pci_config t = machine_pci_transport(p, place);
    struct virtio_rng_options ro = {0};
    int ret = virtio_rng_create(&ro, &t, &p->rng, err, errlen);
    if (ret)
        return ret;
    return machine_pci_place_virtio(p, virtio_rng_virtio_pci(p->rng), place, err, errlen);
}

static int machine_pci_create_edu(struct machine_pci *p, char *err, size_t errlen)
{
    if (!p->cfg.opts->edu)
        return 0;
    struct edu_config ec = {.ram = p->cfg.ram, .nram = p->cfg.nram};
    int ret = edu_create(&ec, &p->edu);
    if (ret) {
        snprintf(err, errlen, "cannot create the edu device: %s", strerror(-ret));
        return ret;
    }
    machine_pci_dma_behind(p, edu_dma(p->edu), &p->cfg.opts->edu_place);
    return machine_pci_place(p, edu_pci_device(p->edu), &p->cfg.opts->edu_place, err, errlen);
}

/* --- interrupt remapping: the IOMMU as a remapper of the MSI sink --- */

static int machine_pci_ir_translate(void *opaque, uint16_t rid, uint64_t addr, uint32_t data,
                                    uint64_t *out_addr, uint32_t *out_data)
{
    struct machine_pci *p = opaque;
    if (!p->amdvi) { /* being torn down: nothing is remapped any more */
        *out_addr = addr;
        *out_data = data;
        return 0;
    }
    return amdvi_ir_translate(p->amdvi, rid, addr, data, out_addr, out_data) == AMDVI_IR_BLOCKED
               ? -EPERM
               : 0;
}

/* Every requester is behind the IOMMU except the IOMMU itself (its event
 * interrupts must not be remapped by itself) and devices placed with
 * iommu=off. The IOAPIC (00:14.0) is behind it. */
static bool machine_pci_ir_owns(void *opaque, uint16_t rid)
{
    struct machine_pci *p = opaque;
    for (unsigned i = 0; i < p->nslots; i++) {
        const struct machine_pci_slot *s = &p->slots[i];
        if (!s->behind_iommu && pci_requester_id(s->dev) == rid)
            return false;
    }
    return true;
}

static int machine_pci_add_remapper(struct machine_pci *p, char *err, size_t errlen)
{
    struct ir_remapper r = {
        .translate = machine_pci_ir_translate, .owns = machine_pci_ir_owns, .opaque = p};
    int idx = ir_sink_add_remapper(p->cfg.ir, &r);
    if (idx < 0) {
        snprintf(err, errlen, "cannot add the IOMMU's interrupt remapping: %s", strerror(-idx));
        return idx;
    }
    p->ir_index = idx;
    struct amdvi_ir_listener l = {.invalidate = ir_sink_remapper_invalidated,
                                  .opaque = ir_sink_remapper_slot(p->cfg.ir, idx)};
    amdvi_ir_set_listener(p->amdvi, &l);
    /* routes installed before (the IOAPIC's) now go through the remapper */
    return ir_sink_invalidate(p->cfg.ir, idx, 0, true);
}

/* The AMD IOMMU: its PCI function on bus 0 (first slot after the host
 * bridge) and its register window. Devices created after it go behind it. */
static int machine_pci_create_amdvi(struct machine_pci *p, char *err, size_t errlen)
{
    const struct cli_iommu *io = &p->cfg.opts->iommu;
    if (io->model != CLI_IOMMU_AMD)
        return 0;
    struct amdvi_config ac = {
        .mmio_base = LAYOUT_AMDVI_MMIO_BASE,
        .ram = p->cfg.ram,
        .nram = p->cfg.nram,
        .sink = &p->cfg.sink,
        .npcache = io->npcache || machine_vfio_wants_npcache(p->cfg.opts),
        .guest_tables = io->guest_tables,
        .intremap = io->intremap && p->cfg.ir,
    };
    int ret = amdvi_create(&ac, &p->amdvi);
    if (ret) {
        snprintf(err, errlen, "cannot create the AMD IOMMU: %s", strerror(-ret));
        return ret;
    }
    ret = bus_register(p->cfg.mmio, LAYOUT_AMDVI_MMIO_BASE, AMDVI_MMIO_SIZE, &amdvi_mmio_ops,
                       p->amdvi, AMDVI_MMIO_BUS_SIZES, AMDVI_MMIO_BUS_ALIGNED, "amd-iommu");
    if (ret) {
        snprintf(err, errlen, "cannot place the AMD IOMMU registers: %s", strerror(-ret));
        return ret;
    }
    p->amdvi_mmio_registered = true;
    static const struct cli_pci_place on_bus0 = {.bus = CLI_BUS_ZERO, .iommu = CLI_IOMMU_OFF};
    ret = machine_pci_place(p, amdvi_pci_device(p->amdvi), &on_bus0, err, errlen);
    if (ret == 0 && ac.intremap)
        ret = machine_pci_add_remapper(p, err, errlen);
    return ret;
}

/* Adds [first, last] to the IOMMU's device entries. */
static int machine_pci_ivrs_add(struct acpi_amd_iommu *iommu, uint16_t first, uint16_t last,
                                char *err, size_t errlen)
{
    int ret = acpi_amd_iommu_add_range(iommu, first, last);
    if (ret)
        snprintf(err, errlen, "cannot describe devids %04x-%04x in the IVRS: %s", first, last,
                 strerror(-ret));
    return ret;
}

static int machine_pci_range_cmp(const void *a, const void *b)
{
    const struct acpi_devid_range *x = a, *y = b;
    return (int)x->first - (int)y->first;
}

int machine_pci_describe(struct machine_pci *p, struct acpi_machine *am, char *err, size_t errlen)
{
    if (!p->amdvi)
        return 0;
    struct acpi_amd_iommu *iommu = &am->amd_iommus[0];
    acpi_amd_iommu_init(iommu, pci_requester_id(amdvi_pci_device(p->amdvi)),
                        amdvi_cap_offset(p->amdvi), LAYOUT_AMDVI_MMIO_BASE, amdvi_efr(p->amdvi),
                        amdvi_efr2(p->amdvi));
    am->n_amd_iommus = 1;
    /* the IOAPIC's devid; the SPECIAL entry only when the IOMMU remaps */
    iommu->ioapic_present = true;
    iommu->ioapic_handle = am->ioapic.id;
    iommu->ioapic_devid = IRQ_SOURCE_ID_IOAPIC;
    iommu->emit_special = p->ir_index >= 0;
    /* The device entries: the host bridge, each root port and the whole
     * bus behind it, each bus-0 device, and the IOAPIC's devid itself (Linux
     * sizes its device table from the highest devid in the device entries,
     * not from SPECIAL entries: without this a machine whose devices all sit
     * below 00:14.0 gets a table too short for the IOAPIC's DTE). */
    struct acpi_devid_range r[2 * MACHINE_PCI_MAX_DEVICES + 2];
    unsigned n = 0;
    r[n++] = (struct acpi_devid_range){0, 0};
    r[n++] = (struct acpi_devid_range){IRQ_SOURCE_ID_IOAPIC, IRQ_SOURCE_ID_IOAPIC};
    for (unsigned i = 0; i < p->nslots; i++) {
        const struct machine_pci_slot *s = &p->slots[i];
        if (!s->behind_iommu)
            continue;
        struct pci_device *top = s->port ? pci_bridge_device(s->port) : s->dev;
        uint16_t rid = pci_requester_id(top);
        r[n++] = (struct acpi_devid_range){rid, rid};
        if (s->port) {
            uint8_t sec = pci_cfg_get8(top, PCI_SECONDARY_BUS);
            r[n++] = (struct acpi_devid_range){PCI_RID_MAKE(sec, 0), PCI_RID_MAKE(sec, 0xff)};
        }
    }
    qsort(r, n, sizeof(r[0]), machine_pci_range_cmp);
    int ret = 0;
    for (unsigned i = 0; i < n && !ret; i++)
        ret = machine_pci_ivrs_add(iommu, r[i].first, r[i].last, err, errlen);
    return ret;
}

int machine_pci_create(struct machine_pci *p, const struct machine_pci_config *cfg,
                       bool *user_error, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->ir_index = -1;
    *user_error = false;
    int ret = machine_pci_create_host(p, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_amdvi(p, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_disks(p, user_error, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_nets(p, user_error, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_rng(p, err, errlen);
    if (ret == 0)
        ret = machine_pci_create_edu(p, err, errlen);
    if (ret == 0)
        ret = machine_vfio_create(p, user_error, err, errlen);
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
        ret = virtio_pci_start(virtio_blk_virtio_pci(p->disks[i]));
    for (unsigned i = 0; i < p->nnets && !ret; i++)
        ret = virtio_pci_start(virtio_net_virtio_pci(p->nets[i]));
    if (!ret && p->rng)
        ret = virtio_pci_start(virtio_rng_virtio_pci(p->rng));
    if (ret) {
        snprintf(err, errlen, "cannot start the virtio I/O threads: %s", strerror(-ret));
        return ret;
    }
    return machine_vfio_start(p, err, errlen);
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
    machine_vfio_stop(p);
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
    edu_destroy(p->edu);
    machine_vfio_destroy(p); /* before the IOMMU its shadows listen to */
    if (p->amdvi_mmio_registered)
        (void)bus_unregister(p->cfg.mmio, LAYOUT_AMDVI_MMIO_BASE);
    struct amdvi *amdvi = p->amdvi;
    p->amdvi = NULL; /* the remapper passes everything through from here on */
    amdvi_destroy(amdvi);
    memset(p, 0, sizeof(*p));
}
