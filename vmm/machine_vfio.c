/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "vfio"
#include "vmm/machine_vfio.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "devices/vfio/vfio.h"
#include "devices/vfio/vfio_pci.h"
#include "iommu/amd/amdvi.h"
#include "iommu/shadow.h"
#include "vmm/log.h"
#include "vmm/machine_pci_internal.h"

#define VFIO_PAGE_MASK 0xfffULL

bool machine_vfio_wants_npcache(const struct cli_options *o)
{
    if (o->iommu.model == CLI_IOMMU_NONE)
        return false;
    for (unsigned i = 0; i < o->nvfio; i++)
        if (cli_behind_iommu(o, &o->vfio[i].place))
            return true;
    return false;
}

static bool behind_iommu(const struct machine_pci *p, const struct cli_vfio *v)
{
    return p->amdvi && cli_behind_iommu(p->cfg.opts, &v->place);
}

/* Host address of guest-physical [gpa, gpa + size), inside one RAM region. */
static void *ram_host(const struct machine_pci *p, uint64_t gpa, uint64_t size)
{
    for (unsigned i = 0; i < p->cfg.nram; i++) {
        const struct dma_ram_region *r = &p->cfg.ram[i];
        if (gpa >= r->gpa && size <= r->size && gpa - r->gpa <= r->size - size)
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

static uint64_t ram_bytes(const struct machine_pci *p)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < p->cfg.nram; i++)
        total += p->cfg.ram[i].size;
    return total;
}

/* --- the shadow's host: one device's own VFIO domain --- */

static int shadow_host_map(void *opaque, uint64_t iova, uint64_t size, uint64_t gpa, bool read,
                           bool write)
{
    struct machine_vfio_dev *d = opaque;
    void *host = ram_host(d->p, gpa, size);
    if (!host)
        return -EFAULT;
    return vfio_domain_map(d->own_domain, iova, size, host, read, write);
}

static int shadow_host_unmap(void *opaque, uint64_t iova, uint64_t size)
{
    struct machine_vfio_dev *d = opaque;
    return vfio_domain_unmap(d->own_domain, iova, size);
}

/* --- the vIOMMU's map listener for one device --- */

static uint16_t listener_rid(void *opaque)
{
    struct machine_vfio_dev *d = opaque;
    return pci_requester_id(vfio_pci_pci_device(d->pci));
}

/* Entries that allow neither reads nor writes (a DTE with IR = IW = 0) are
 * no mapping at all for the host: leave them out (compacts `w` in place,
 * returns the new count). */
static size_t drop_inaccessible(struct iommu_mapping *w, size_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i].read || w[i].write)
            w[keep++] = w[i];
    return keep;
}

static int sync_accessible(struct shadow *s, uint64_t first, uint64_t last,
                           const struct iommu_mapping *want, size_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < n; i++)
        keep += want[i].read || want[i].write;
    if (keep == n)
        return shadow_sync(s, first, last, want, n);
    struct iommu_mapping *acc = malloc(n * sizeof(*acc));
    if (!acc)
        return -ENOMEM;
    memcpy(acc, want, n * sizeof(*acc));
    int ret = shadow_sync(s, first, last, acc, drop_inaccessible(acc, n));
    free(acc);
    return ret;
}

static int listener_sync(void *opaque, uint64_t first, uint64_t last,
                         const struct iommu_mapping *want, size_t n)
{
    struct machine_vfio_dev *d = opaque;
    return sync_accessible(d->shadow, first, last, want, n);
}

/* Map all guest RAM 1:1 in the shared domain (devices without vIOMMU). */
static int map_all_ram(struct machine_pci *p, char *err, size_t errlen)
{
    struct machine_vfio *mv = p->vfio;
    for (unsigned i = 0; i < p->cfg.nram; i++) {
        const struct dma_ram_region *r = &p->cfg.ram[i];
        int ret = vfio_domain_map(mv->shared, r->gpa, r->size, r->host, true, true);
        if (ret) {
            snprintf(err, errlen,
                     "cannot map guest RAM 0x%llx+0x%llx for VFIO DMA: %s%s",
                     (unsigned long long)r->gpa, (unsigned long long)r->size, strerror(-ret),
                     ret == -ENOMEM ? " (memlock limit too low? raise ulimit -l or run as root)"
                                    : "");
            return ret;
        }
    }
    mv->shared_mapped = true;
    return 0;
}

static int open_domain(struct vfio_domain **out, bool *user_error, char *err, size_t errlen)
{
    int ret = vfio_domain_open(out, err, errlen);
    if (ret)
        *user_error = true;
    return ret;
}

static int create_one(struct machine_pci *p, const struct cli_vfio *cv, bool *user_error,
                      char *err, size_t errlen)
{
    struct machine_vfio *mv = p->vfio;
    struct machine_vfio_dev *d = &mv->devs[mv->n];
    bool behind = behind_iommu(p, cv);
    int ret;

    *d = (struct machine_vfio_dev){.p = p};
    struct vfio_domain *dom;
    if (behind) {
        ret = open_domain(&d->own_domain, user_error, err, errlen);
        dom = d->own_domain;
    } else {
        ret = mv->shared ? 0 : open_domain(&mv->shared, user_error, err, errlen);
        dom = mv->shared;
    }
    if (ret)
        return ret;
    mv->n++; /* from here on destroy releases what this device holds */
    ret = vfio_dev_open(dom, cv->spec, &d->dev, err, errlen);
    if (ret) {
        *user_error = true;
        return ret;
    }
    struct vfio_pci_config pc = {
        .dev = vfio_dev_ops_of(d->dev),
        .name = vfio_dev_name(d->dev),
        .sink = &p->cfg.sink,
        .slots = p->cfg.slots,
        .ioapic = p->cfg.ioapic,
    };
    ret = vfio_pci_create(&pc, &d->pci, err, errlen);
    if (ret)
        return ret;
    if (behind) {
        struct shadow_host_ops ops = {
            .map = shadow_host_map, .unmap = shadow_host_unmap, .opaque = d};
        ret = shadow_create(&ops, &d->shadow);
        struct iommu_map_listener l = {
            .requester_id = listener_rid, .sync = listener_sync, .opaque = d};
        if (ret == 0)
            ret = amdvi_add_map_listener(p->amdvi, &l);
        if (ret) {
            snprintf(err, errlen, "cannot shadow %s's DMA: %s", cv->spec, strerror(-ret));
            return ret;
        }
    }
    return machine_pci_place(p, vfio_pci_pci_device(d->pci), &cv->place, err, errlen);
}

int machine_vfio_create(struct machine_pci *p, bool *user_error, char *err, size_t errlen)
{
    const struct cli_options *o = p->cfg.opts;
    if (o->nvfio == 0)
        return 0;
    p->vfio = calloc(1, sizeof(*p->vfio));
    if (!p->vfio) {
        snprintf(err, errlen, "out of memory for the VFIO devices");
        return -ENOMEM;
    }
    /* Every host domain pins all of guest RAM at some point (behind the
     * vIOMMU: while the guest's IOMMU is off, or in pass-through mode). */
    unsigned ndomains = 0;
    bool shared = false;
    for (unsigned i = 0; i < o->nvfio; i++) {
        if (behind_iommu(p, &o->vfio[i]))
            ndomains++;
        else
            shared = true;
    }
    ndomains += shared;
    /* type1 charges every container's pinned pages to the process */
    int ret = vfio_check_memlock(ram_bytes(p) * ndomains, err, errlen);
    if (ret) {
        *user_error = true;
        return ret;
    }
    for (unsigned i = 0; i < o->nvfio && !ret; i++)
        ret = create_one(p, &o->vfio[i], user_error, err, errlen);
    return ret;
}

/* The guest's IOMMU starts disabled: DMA is untranslated, so the shadow
 * starts as whatever the vIOMMU says now (all RAM). */
static int initial_shadow(struct machine_vfio_dev *d, char *err, size_t errlen)
{
    struct iommu_mapping *want = NULL;
    size_t n = 0;
    uint16_t rid = listener_rid(d);
    int ret = amdvi_map_snapshot(d->p->amdvi, rid, &want, &n);
    if (ret == 0)
        ret = sync_accessible(d->shadow, 0, UINT64_MAX, want, n);
    free(want);
    if (ret)
        snprintf(err, errlen, "cannot map guest RAM for %s: %s%s", vfio_dev_name(d->dev),
                 strerror(-ret),
                 ret == -ENOMEM ? " (memlock limit too low? raise ulimit -l or run as root)" : "");
    return ret;
}

int machine_vfio_start(struct machine_pci *p, char *err, size_t errlen)
{
    struct machine_vfio *mv = p->vfio;
    if (!mv)
        return 0;
    int ret = 0;
    if (mv->shared)
        ret = map_all_ram(p, err, errlen);
    for (unsigned i = 0; i < mv->n && !ret; i++) {
        struct machine_vfio_dev *d = &mv->devs[i];
        ret = vfio_pci_reset(d->pci);
        if (ret == -ENOTTY) {
            LOG_INFO("%s cannot be reset; starting it as the host left it", vfio_dev_name(d->dev));
            ret = 0;
        }
        if (ret == 0 && d->shadow)
            ret = initial_shadow(d, err, errlen);
        if (ret == 0)
            ret = vfio_pci_start(d->pci);
        if (ret && !err[0])
            snprintf(err, errlen, "cannot start %s: %s", vfio_dev_name(d->dev), strerror(-ret));
    }
    return ret;
}

/* After a workload: does the host domain hold exactly what the guest's
 * tables map? (The shadow record equals the host domain: every map/unmap it
 * recorded succeeded.) */
static void check_consistency(struct machine_vfio_dev *d)
{
    struct iommu_mapping *want = NULL;
    size_t n = 0;
    if (amdvi_map_snapshot(d->p->amdvi, listener_rid(d), &want, &n)) {
        LOG_WARN("%s: cannot read the guest's I/O page tables for the check", vfio_dev_name(d->dev));
        return;
    }
    n = drop_inaccessible(want, n);
    struct shadow_stats st;
    shadow_get_stats(d->shadow, &st);
    if (shadow_matches(d->shadow, want, n))
        LOG_INFO("%s: host mappings match the guest's I/O page tables (%zu ranges; %llu syncs, "
                 "%llu maps, %llu unmaps, %llu errors, %.1f ms in host calls)",
                 vfio_dev_name(d->dev), shadow_count(d->shadow), (unsigned long long)st.syncs,
                 (unsigned long long)st.maps, (unsigned long long)st.unmaps,
                 (unsigned long long)st.errors, (double)st.host_ns / 1e6);
    else
        LOG_WARN("%s: host mappings DIFFER from the guest's I/O page tables (%zu host ranges, "
                 "%zu guest ranges)",
                 vfio_dev_name(d->dev), shadow_count(d->shadow), n);
    free(want);
}

void machine_vfio_stop(struct machine_pci *p)
{
    struct machine_vfio *mv = p->vfio;
    if (!mv)
        return;
    for (unsigned i = 0; i < mv->n; i++) {
        struct machine_vfio_dev *d = &mv->devs[i];
        if (d->pci)
            vfio_pci_stop(d->pci);
        if (d->shadow && p->amdvi)
            check_consistency(d);
    }
}

void machine_vfio_destroy(struct machine_pci *p)
{
    struct machine_vfio *mv = p->vfio;
    if (!mv)
        return;
    for (unsigned i = 0; i < mv->n; i++) {
        struct machine_vfio_dev *d = &mv->devs[i];
        if (d->pci) {
            /* leave the device quiet for the next user of the host */
            int ret = vfio_pci_reset(d->pci);
            if (ret && ret != -ENOTTY)
                LOG_WARN("%s: reset at exit failed: %s", vfio_dev_name(d->dev), strerror(-ret));
            vfio_pci_destroy(d->pci);
        }
        if (d->dev)
            vfio_dev_close(d->dev);
        shadow_destroy(d->shadow); /* closing the domain drops its mappings */
        vfio_domain_close(d->own_domain);
    }
    vfio_domain_close(mv->shared);
    free(mv);
    p->vfio = NULL;
}
