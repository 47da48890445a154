/* SPDX-License-Identifier: MIT */
/*
 * Interrupts of a passthrough function: MSI-X and MSI emulated by the
 * pci_msix / pci_msi helpers and backed by VFIO eventfds, INTx relayed
 * through the I/O thread and resampled on the guest's EOI.
 *
 * Per vector, the device signals one of two eventfds: the irq_vector's
 * irqfd (deliverable: exit-free delivery through the GSI route) or the
 * vector's user_fd (masked, or no irqfd support), which the I/O thread
 * turns into pci_msix_notify / pci_msi_notify (pending bit while masked,
 * delivery otherwise). On unmask the route is installed before the device
 * is switched to the irqfd; on mask the device is switched away first.
 *
 * What the device has been told (enabled index and count, each vector's
 * eventfd, INTx) is kept under v->irq_lock and changed only by
 * irqs_sync_locked (index level) and irqs_program_vec_locked (vector
 * level), so it always matches the guest's programming.
 */
#define LOG_MODULE "vfio-pci"
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/bits.h"
#include "devices/pci/pci_host.h"
#include "devices/vfio/vfio_pci_internal.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define VFIO_PCI_TAG_SHIFT 32
#define VFIO_PCI_EPOLL_BATCH 32
#define VFIO_PCI_MSI_MMC_MAX 5 /* 32 vectors; 6 and 7 are reserved */

enum vfio_pci_tag { TAG_MSIX = 1, TAG_MSI, TAG_INTX };

static uint64_t make_tag(enum vfio_pci_tag kind, unsigned vec)
{
    return (uint64_t)kind << VFIO_PCI_TAG_SHIFT | vec;
}

static uint16_t raw16(const struct vfio_pci *v, unsigned off)
{
    return (uint16_t)(v->raw[off] | v->raw[off + 1] << 8);
}

static uint32_t raw32(const struct vfio_pci *v, unsigned off)
{
    return (uint32_t)raw16(v, off) | (uint32_t)raw16(v, off + 2) << 16;
}

static unsigned host_irqs(const struct vfio_pci *v, unsigned index)
{
    return v->cfg.dev.irq_count ? v->cfg.dev.irq_count(v->cfg.dev.opaque, index) : 0;
}

/* ---- probe: which capabilities stay visible ---------------------------------- */

static void probe_msix(struct vfio_pci *v)
{
    unsigned cap = v->cap_msix;
    unsigned tsize = (raw16(v, cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1u;
    uint32_t table = raw32(v, cap + PCI_MSIX_TABLE), pba = raw32(v, cap + PCI_MSIX_PBA);
    unsigned bir = table & PCI_MSIX_TABLE_BIR;
    unsigned host = host_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX);
    v->msix_bir = bir;
    v->msix_table_off = table & PCI_MSIX_TABLE_OFFSET;
    v->msix_table_len = (uint64_t)tsize * PCI_MSIX_ENTRY_SIZE;
    v->msix_pba_off = pba & PCI_MSIX_PBA_OFFSET;
    v->msix_pba_len = 8ull * ((tsize + 63) / 64);
    const char *why = NULL;
    const struct pci_bar *bar = bir < PCI_NUM_BARS ? &v->pdev.bars[bir] : NULL;
    if (host == 0)
        why = "the host offers no MSI-X vectors";
    else if ((pba & PCI_MSIX_PBA_BIR) != bir)
        why = "table and PBA in different BARs (not supported)";
    else if (!bar || (bar->type != PCI_BAR_MEM32 && bar->type != PCI_BAR_MEM64))
        why = "table BIR names no memory BAR";
    else if (v->msix_table_off + v->msix_table_len > bar->size ||
             v->msix_pba_off + v->msix_pba_len > bar->size)
        why = "table or PBA beyond the BAR";
    if (why) {
        LOG_WARN("%s: MSI-X capability hidden: %s", v->name, why);
        v->cap_msix = 0;
        return;
    }
    v->msix_irqs.nvec = tsize < host ? tsize : host;
}

static void probe_msi(struct vfio_pci *v)
{
    unsigned host = host_irqs(v, VFIO_PCI_MSI_IRQ_INDEX);
    if (host == 0) {
        LOG_WARN("%s: MSI capability hidden: the host offers no MSI vectors", v->name);
        v->cap_msi = 0;
        return;
    }
    unsigned mmc = (unsigned)FIELD_GET(PCI_MSI_FLAGS_QMASK, raw16(v, v->cap_msi + PCI_MSI_FLAGS));
    unsigned nvec = 1u << (mmc > VFIO_PCI_MSI_MMC_MAX ? VFIO_PCI_MSI_MMC_MAX : mmc);
    while (nvec > host)
        nvec /= 2;
    v->msi_irqs.nvec = nvec;
}

void vfio_pci_irqs_probe(struct vfio_pci *v)
{
    if (v->cap_msix)
        probe_msix(v);
    if (v->cap_msi)
        probe_msi(v);
}

/* ---- what the device is told (irq_lock held) --------------------------------- */

static int vec_fd(const struct vfio_pci_vec *x)
{
    return x->deliverable && x->iv.ready && x->iv.fd >= 0 ? x->iv.fd : x->user_fd;
}

static void irqs_program_vec_locked(struct vfio_pci_irqs *irqs, unsigned vec)
{
    struct vfio_pci *v = irqs->v;
    struct vfio_pci_vec *x = &irqs->vecs[vec];
    if (vec >= irqs->dev_count)
        return;
    int fd = vec_fd(x);
    if (fd == x->dev_fd)
        return;
    int ret = v->cfg.dev.set_irq_fds(v->cfg.dev.opaque, irqs->index, vec, 1, &fd);
    if (ret) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: switching vector %u's eventfd failed: %s",
                        v->name, vec, strerror(-ret));
        return;
    }
    x->dev_fd = fd;
}

static void irqs_off_locked(struct vfio_pci_irqs *irqs)
{
    struct vfio_pci *v = irqs->v;
    if (!irqs->dev_count)
        return;
    int ret = v->cfg.dev.set_irq_fds(v->cfg.dev.opaque, irqs->index, 0, 0, NULL);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: disabling irq index %u failed: %s", v->name,
                        irqs->index, strerror(-ret));
    irqs->dev_count = 0;
    for (unsigned i = 0; i < irqs->nvec; i++)
        irqs->vecs[i].dev_fd = -1;
}

static void irqs_on_locked(struct vfio_pci_irqs *irqs, unsigned count)
{
    struct vfio_pci *v = irqs->v;
    int fds[PCI_MSIX_MAX_VECTORS] = { 0 };
    if (count > PCI_MSIX_MAX_VECTORS)
        return;
    for (unsigned i = 0; i < count; i++)
        fds[i] = vec_fd(&irqs->vecs[i]);
    int ret = v->cfg.dev.set_irq_fds(v->cfg.dev.opaque, irqs->index, 0, count, fds);
    if (ret) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: enabling %u vectors of irq index %u failed: %s",
                        v->name, count, irqs->index, strerror(-ret));
        return;
    }
    irqs->dev_count = count;
    for (unsigned i = 0; i < count; i++)
        irqs->vecs[i].dev_fd = fds[i];
}

static void intx_deassert_locked(struct vfio_pci *v)
{
    if (!v->intx_asserted)
        return;
    v->intx_asserted = false;
    pci_set_intx(&v->pdev, false);
}

static void intx_off_locked(struct vfio_pci *v)
{
    if (!v->intx_on)
        return;
    (void)v->cfg.dev.set_intx_unmask_fd(v->cfg.dev.opaque, -1);
    int ret = v->cfg.dev.set_irq_fds(v->cfg.dev.opaque, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: disabling INTx failed: %s", v->name,
                        strerror(-ret));
    v->intx_on = false;
    intx_deassert_locked(v);
}

static void intx_on_locked(struct vfio_pci *v)
{
    int fd = v->intx_trigger_fd;
    int ret = v->cfg.dev.set_irq_fds(v->cfg.dev.opaque, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd);
    if (ret) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: enabling INTx failed: %s", v->name,
                        strerror(-ret));
        return;
    }
    ret = v->cfg.dev.set_intx_unmask_fd(v->cfg.dev.opaque, v->intx_unmask_fd);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: INTx unmask eventfd failed: %s; INTx will stop "
                        "after the first interrupt", v->name, strerror(-ret));
    v->intx_on = true;
}

/* Bring the device's enabled index in line with the guest's programming:
 * MSI-X over MSI over INTx; what goes off goes off first (the host allows
 * one index at a time). */
static void irqs_sync_locked(struct vfio_pci *v)
{
    unsigned want_msix = 0, want_msi = 0;
    if (v->msix_irqs.nvec && pci_msix_enabled(&v->msix))
        want_msix = v->msix_irqs.nvec;
    if (v->msi_irqs.nvec)
        want_msi = pci_msi_enabled_vectors(&v->msi);
    if (want_msix && want_msi) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: guest enabled both MSI and MSI-X; using MSI-X",
                        v->name);
        want_msi = 0;
    }
    bool want_intx = v->started && !want_msix && !want_msi && v->intx_ioapic_pin >= 0;

    if (v->msix_irqs.dev_count != want_msix)
        irqs_off_locked(&v->msix_irqs);
    if (v->msi_irqs.dev_count != want_msi)
        irqs_off_locked(&v->msi_irqs);
    if (!want_intx)
        intx_off_locked(v);
    if (want_msix && !v->msix_irqs.dev_count)
        irqs_on_locked(&v->msix_irqs, want_msix);
    if (want_msi && !v->msi_irqs.dev_count)
        irqs_on_locked(&v->msi_irqs, want_msi);
    if (want_intx && !v->intx_on)
        intx_on_locked(v);
}

/* ---- helper callbacks (pci_msix / pci_msi lock held) ------------------------------ */

/* (Re)create the vector's route with the function's current requester id.
 * Returns true when the vector got a new eventfd (the device must be told,
 * even if the number is reused). */
static bool vec_prepare(struct vfio_pci *v, struct vfio_pci_vec *x, unsigned vec)
{
    uint16_t rid = pci_requester_id(&v->pdev);
    if (x->iv.ready && x->iv.source_id == rid)
        return false;
    irq_vector_destroy(&x->iv);
    int ret = irq_vector_init(&x->iv, v->cfg.sink, rid);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_ERROR, "%s: vector %u: no interrupt route: %s; it is "
                        "delivered through the I/O thread", v->name, vec, strerror(-ret));
    return true;
}

static void irqs_vector_update(void *opaque, unsigned vec, bool deliverable, uint64_t addr,
                               uint32_t data)
{
    struct vfio_pci_irqs *irqs = opaque;
    struct vfio_pci *v = irqs->v;
    if (vec >= irqs->nvec)
        return;
    struct vfio_pci_vec *x = &irqs->vecs[vec];
    x->addr = addr;
    x->data = data;
    bool fresh = false;
    if (deliverable) {
        fresh = vec_prepare(v, x, vec);
        if (x->iv.ready)
            (void)irq_vector_route(&x->iv, true, addr, data); /* failures logged there */
    }
    pthread_mutex_lock(&v->irq_lock);
    if (fresh)
        x->dev_fd = -1; /* a reused fd number is still a new eventfd */
    x->deliverable = deliverable;
    irqs_program_vec_locked(irqs, vec);
    pthread_mutex_unlock(&v->irq_lock);
    if (!deliverable && x->iv.ready)
        (void)irq_vector_route(&x->iv, false, addr, data);
}

static void irqs_fire(void *opaque, unsigned vec)
{
    struct vfio_pci_irqs *irqs = opaque;
    if (vec >= irqs->nvec)
        return;
    struct vfio_pci_vec *x = &irqs->vecs[vec];
    if (x->iv.ready)
        irq_vector_fire(&x->iv);
    else
        (void)pci_send_msi(&irqs->v->pdev, x->addr, x->data);
}

static const struct pci_msix_ops vfio_pci_irq_ops = {
    .vector_update = irqs_vector_update,
    .fire = irqs_fire,
};

/* ---- setup ------------------------------------------------------------------------ */

static int irqs_alloc(struct vfio_pci *v, struct vfio_pci_irqs *irqs, unsigned index,
                      enum vfio_pci_tag kind)
{
    irqs->v = v;
    irqs->index = index;
    irqs->vecs = calloc(irqs->nvec, sizeof(*irqs->vecs));
    if (!irqs->vecs)
        return -ENOMEM;
    for (unsigned i = 0; i < irqs->nvec; i++) {
        struct vfio_pci_vec *x = &irqs->vecs[i];
        x->iv = (struct irq_vector){ .gsi = -1, .fd = -1 };
        x->dev_fd = -1;
        x->user_fd = -1;
    }
    for (unsigned i = 0; i < irqs->nvec; i++) {
        struct vfio_pci_vec *x = &irqs->vecs[i];
        x->user_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (x->user_fd < 0)
            return -errno;
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = make_tag(kind, i) };
        if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, x->user_fd, &ev))
            return -errno;
    }
    return 0;
}

static void irqs_free(struct vfio_pci_irqs *irqs)
{
    if (!irqs->vecs)
        return;
    for (unsigned i = 0; i < irqs->nvec; i++) {
        irq_vector_destroy(&irqs->vecs[i].iv);
        if (irqs->vecs[i].user_fd >= 0)
            close(irqs->vecs[i].user_fd);
    }
    free(irqs->vecs);
    irqs->vecs = NULL;
}

static int intx_alloc(struct vfio_pci *v)
{
    v->intx_trigger_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    v->intx_unmask_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->intx_trigger_fd < 0 || v->intx_unmask_fd < 0)
        return -errno;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = make_tag(TAG_INTX, 0) };
    return epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->intx_trigger_fd, &ev) ? -errno : 0;
}

static int irqs_init_msix(struct vfio_pci *v)
{
    int ret = irqs_alloc(v, &v->msix_irqs, VFIO_PCI_MSIX_IRQ_INDEX, TAG_MSIX);
    if (ret)
        return ret;
    return pci_msix_init_at(&v->msix, &v->pdev, v->cap_msix, v->msix_irqs.nvec, v->msix_bir,
                            (uint32_t)v->msix_table_off, (uint32_t)v->msix_pba_off,
                            &vfio_pci_irq_ops, &v->msix_irqs);
}

static int irqs_init_msi(struct vfio_pci *v)
{
    int ret = irqs_alloc(v, &v->msi_irqs, VFIO_PCI_MSI_IRQ_INDEX, TAG_MSI);
    if (ret)
        return ret;
    uint16_t ctrl = raw16(v, v->cap_msi + PCI_MSI_FLAGS);
    return pci_msi_init_at(&v->msi, &v->pdev, v->cap_msi, v->msi_irqs.nvec,
                           ctrl & PCI_MSI_FLAGS_64BIT, ctrl & PCI_MSI_FLAGS_MASKBIT,
                           &vfio_pci_irq_ops, &v->msi_irqs);
}

int vfio_pci_irqs_init(struct vfio_pci *v, char *err, size_t errlen)
{
    int ret = -pthread_mutex_init(&v->irq_lock, NULL);
    const char *what = "irq lock";
    if (ret)
        goto fail;
    v->irq_lock_ready = true;
    what = "epoll";
    v->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (v->epfd < 0) {
        ret = -errno;
        goto fail;
    }
    what = "MSI-X";
    if (v->cap_msix && (ret = irqs_init_msix(v)))
        goto fail;
    what = "MSI";
    if (v->cap_msi && (ret = irqs_init_msi(v)))
        goto fail;
    what = "INTx eventfds";
    if (v->intx_pin_cfg && (ret = intx_alloc(v)))
        goto fail;
    return 0;

fail:
    snprintf(err, errlen, "%s: setting up %s failed: %s", v->name, what, strerror(-ret));
    return ret; /* vfio_pci_irqs_destroy undoes the rest */
}

void vfio_pci_irqs_destroy(struct vfio_pci *v)
{
    pci_msix_destroy(&v->msix);
    pci_msi_destroy(&v->msi);
    irqs_free(&v->msix_irqs);
    irqs_free(&v->msi_irqs);
    if (v->intx_trigger_fd >= 0)
        close(v->intx_trigger_fd);
    if (v->intx_unmask_fd >= 0)
        close(v->intx_unmask_fd);
    if (v->epfd >= 0)
        close(v->epfd);
    v->intx_trigger_fd = v->intx_unmask_fd = v->epfd = -1;
    if (v->irq_lock_ready)
        pthread_mutex_destroy(&v->irq_lock);
    v->irq_lock_ready = false;
}

/* ---- guest programming ---------------------------------------------------------------- */

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
    return start && off < start + len && off + size > start;
}

void vfio_pci_irq_config_written(struct vfio_pci *v, unsigned off, unsigned size)
{
    pci_msix_config_written(&v->msix, off, size);
    pci_msi_config_written(&v->msi, off, size);
    if (!overlaps(off, size, v->cap_msix, PCI_CAP_MSIX_SIZEOF) &&
        !overlaps(off, size, v->cap_msi, PCI_MSI_FLAGS + 2))
        return;
    pthread_mutex_lock(&v->irq_lock);
    irqs_sync_locked(v);
    pthread_mutex_unlock(&v->irq_lock);
}

/* ---- the I/O thread and EOIs ------------------------------------------------------------- */

static bool drain(int fd)
{
    uint64_t cnt;
    return read(fd, &cnt, sizeof(cnt)) == (ssize_t)sizeof(cnt);
}

static void intx_triggered(struct vfio_pci *v)
{
    pthread_mutex_lock(&v->irq_lock);
    if (v->intx_on && !v->intx_asserted) {
        v->intx_asserted = true;
        pci_set_intx(&v->pdev, true);
    }
    pthread_mutex_unlock(&v->irq_lock);
}

static void intx_eoi(void *opaque, unsigned pin)
{
    struct vfio_pci *v = opaque;
    (void)pin;
    pthread_mutex_lock(&v->irq_lock);
    if (v->intx_asserted) {
        intx_deassert_locked(v);
        uint64_t one = 1;
        if (write(v->intx_unmask_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: INTx unmask write failed: %s", v->name,
                            strerror(errno));
    }
    pthread_mutex_unlock(&v->irq_lock);
}

static void vfio_pci_io_handler(void *opaque, uint32_t events)
{
    struct vfio_pci *v = opaque;
    (void)events;
    struct epoll_event ev[VFIO_PCI_EPOLL_BATCH];
    int n = epoll_wait(v->epfd, ev, VFIO_PCI_EPOLL_BATCH, 0);
    __atomic_fetch_add(&v->thread_irqs, n > 0 ? (uint64_t)n : 0, __ATOMIC_RELAXED);
    for (int i = 0; i < n; i++) {
        unsigned kind = (unsigned)(ev[i].data.u64 >> VFIO_PCI_TAG_SHIFT);
        unsigned vec = (unsigned)(ev[i].data.u64 & UINT32_MAX);
        if (kind == TAG_MSIX && vec < v->msix_irqs.nvec) {
            if (drain(v->msix_irqs.vecs[vec].user_fd))
                pci_msix_notify(&v->msix, vec);
        } else if (kind == TAG_MSI && vec < v->msi_irqs.nvec) {
            if (drain(v->msi_irqs.vecs[vec].user_fd))
                pci_msi_notify(&v->msi, vec);
        } else if (kind == TAG_INTX) {
            if (drain(v->intx_trigger_fd))
                intx_triggered(v);
        }
    }
}

static int intx_attach(struct vfio_pci *v)
{
    v->intx_ioapic_pin = -1;
    if (!v->intx_pin_cfg || !v->cfg.ioapic)
        return 0;
    int idx = pci_host_intx_index(&v->pdev);
    if (idx < 0) {
        LOG_WARN("%s: INTx not wired (function not attached); the guest gets no INTx",
                 v->name);
        return 0;
    }
    int pin = LAYOUT_PCI_INTX_GSI_BASE + idx - LAYOUT_IOAPIC_GSI_BASE;
    int ret = ioapic_add_eoi_listener(v->cfg.ioapic, (unsigned)pin, intx_eoi, v);
    if (ret)
        return ret;
    v->intx_ioapic_pin = pin;
    return 0;
}

static void intx_detach(struct vfio_pci *v)
{
    if (v->intx_ioapic_pin >= 0)
        ioapic_remove_eoi_listener(v->cfg.ioapic, (unsigned)v->intx_ioapic_pin, intx_eoi, v);
    v->intx_ioapic_pin = -1;
}

int vfio_pci_irqs_start(struct vfio_pci *v)
{
    int ret = intx_attach(v);
    if (ret)
        return ret;
    ret = io_thread_init(&v->io, v->name);
    if (ret)
        goto detach_intx;
    v->io_ready = true;
    ret = io_thread_add(&v->io, v->epfd, EPOLLIN, vfio_pci_io_handler, v);
    if (ret)
        goto destroy_thread;
    ret = io_thread_start(&v->io);
    if (ret)
        goto destroy_thread;
    pthread_mutex_lock(&v->irq_lock);
    v->started = true;
    irqs_sync_locked(v);
    pthread_mutex_unlock(&v->irq_lock);
    return 0;

destroy_thread:
    io_thread_destroy(&v->io);
    v->io_ready = false;
detach_intx:
    intx_detach(v);
    return ret;
}

void vfio_pci_irqs_stop(struct vfio_pci *v)
{
    if (v->irq_lock_ready) {
        pthread_mutex_lock(&v->irq_lock);
        v->started = false;
        irqs_off_locked(&v->msix_irqs);
        irqs_off_locked(&v->msi_irqs);
        intx_off_locked(v);
        pthread_mutex_unlock(&v->irq_lock);
    }
    intx_detach(v);
    if (v->io_ready) {
        io_thread_stop(&v->io);
        io_thread_destroy(&v->io);
        v->io_ready = false;
    }
}

void vfio_pci_irqs_reset(struct vfio_pci *v)
{
    pci_msix_reset(&v->msix);
    pci_msi_reset(&v->msi);
    pthread_mutex_lock(&v->irq_lock);
    irqs_off_locked(&v->msix_irqs);
    irqs_off_locked(&v->msi_irqs);
    intx_off_locked(v);
    pthread_mutex_unlock(&v->irq_lock);
}

void vfio_pci_irqs_resume(struct vfio_pci *v)
{
    pthread_mutex_lock(&v->irq_lock);
    irqs_sync_locked(v);
    pthread_mutex_unlock(&v->irq_lock);
}
