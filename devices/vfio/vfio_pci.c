/* SPDX-License-Identifier: MIT */
/*
 * Lifecycle of a passthrough PCI function (vfio_pci.h): create builds the
 * virtual function from what the device reports, in this order - config
 * space and header, BARs (the MSI-X layout needs their sizes), the
 * MSI/MSI-X decision, the capability list, then the interrupt helpers that
 * take over the kept capabilities.
 */
#define LOG_MODULE "vfio-pci"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vfio/vfio_pci_internal.h"
#include "vmm/log.h"

static bool config_ok(const struct vfio_pci_config *cfg)
{
    const struct vfio_dev_ops *d = &cfg->dev;
    return d->region_info && d->region_read && d->region_write && d->irq_count &&
           d->set_irq_fds && d->set_intx_unmask_fd && cfg->sink;
}

int vfio_pci_create(const struct vfio_pci_config *cfg, struct vfio_pci **out, char *err,
                    size_t errlen)
{
    if (!cfg || !out || !config_ok(cfg)) {
        snprintf(err, errlen, "vfio-pci: incomplete device configuration (missing ops or sink)");
        return -EINVAL;
    }
    struct vfio_pci *v = calloc(1, sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "vfio-pci: out of memory");
        return -ENOMEM;
    }
    v->cfg = *cfg;
    snprintf(v->name, sizeof(v->name), "%s", cfg->name ? cfg->name : "vfio");
    v->cfg.name = v->name;
    v->epfd = v->intx_trigger_fd = v->intx_unmask_fd = -1;
    v->intx_ioapic_pin = -1;

    int ret = vfio_pci_config_load(v, err, errlen);
    if (ret)
        goto destroy;
    ret = vfio_pci_bars_init(v, err, errlen);
    if (ret)
        goto destroy;
    vfio_pci_irqs_probe(v);
    vfio_pci_config_caps(v);
    ret = vfio_pci_irqs_init(v, err, errlen);
    if (ret)
        goto destroy;
    *out = v;
    return 0;

destroy:
    vfio_pci_destroy(v);
    return ret;
}

struct pci_device *vfio_pci_pci_device(struct vfio_pci *v)
{
    return &v->pdev;
}

int vfio_pci_start(struct vfio_pci *v)
{
    if (v->started)
        return 0;
    int ret = vfio_pci_irqs_start(v);
    if (ret)
        LOG_ERR("%s: starting interrupts failed: %s", v->name, strerror(-ret));
    return ret;
}

/* What exited and what did not, for --log-level info. */
static void log_stats(const struct vfio_pci *v)
{
    char buf[256];
    size_t len = 0;
    for (unsigned i = 0; i < PCI_NUM_BARS && len < sizeof(buf); i++) {
        const struct vfio_pci_bar *b = &v->bars[i];
        if (b->v && b->region.size)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, " BAR%u %llu", i,
                                    (unsigned long long)__atomic_load_n(&b->trapped,
                                                                        __ATOMIC_RELAXED));
    }
    LOG_INFO("%s: trapped BAR accesses:%s; interrupts through the I/O thread: %llu", v->name,
             len ? buf : " none", (unsigned long long)__atomic_load_n(&v->thread_irqs,
                                                                       __ATOMIC_RELAXED));
}

void vfio_pci_stop(struct vfio_pci *v)
{
    if (v->started)
        log_stats(v);
    vfio_pci_irqs_stop(v);
}

void vfio_pci_destroy(struct vfio_pci *v)
{
    if (!v)
        return;
    vfio_pci_stop(v);
    vfio_pci_bars_destroy(v);
    vfio_pci_irqs_destroy(v);
    free(v);
}

int vfio_pci_reset(struct vfio_pci *v)
{
    vfio_pci_irqs_reset(v);
    int ret = v->cfg.dev.reset ? v->cfg.dev.reset(v->cfg.dev.opaque) : -ENOTTY;
    if (ret && ret != -ENOTTY)
        LOG_WARN("%s: device reset failed: %s; the device keeps its state", v->name,
                 strerror(-ret));
    vfio_pci_irqs_resume(v);
    return ret;
}
