/* SPDX-License-Identifier: MIT */
/*
 * Config-space virtualisation of a passthrough function (vfio_pci.h has
 * the table of what is emulated and what passes through).
 *
 * Two per-byte arrays drive it: emu[] holds the bits served from the
 * shadow (0xff: the whole byte), fwd[] marks the bytes whose guest writes
 * are forwarded to the device. For passed-through bytes the shadow's masks
 * are wmask 0xff / w1cmask 0, so after the generic merge the shadow holds
 * exactly what the guest wrote, which is what gets forwarded.
 */
#define LOG_MODULE "vfio-pci"
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>

#include "devices/bits.h"
#include "devices/vfio/vfio_pci_internal.h"
#include "vmm/log.h"

#define VFIO_PCI_CAP_MAX_WALK 48       /* (256 - 64) / 4: a longer walk is a loop */
#define VFIO_PCI_CAP_ALIGN 4u
#define VFIO_PCI_CAP_EXP_V2_LEN 0x3c   /* through Slot Status 2 */
#define VFIO_PCI_ROM_LEN 4
#define VFIO_PCI_BARS_END (PCI_BASE_ADDRESS_5 + 4)

static uint16_t raw16(const struct vfio_pci *v, unsigned off)
{
    return (uint16_t)(v->raw[off] | v->raw[off + 1] << 8);
}

static uint32_t raw32(const struct vfio_pci *v, unsigned off)
{
    return (uint32_t)raw16(v, off) | (uint32_t)raw16(v, off + 2) << 16;
}

/* ---- byte classes --------------------------------------------------------- */

/* Served from the shadow, never forwarded, read-only unless masks say so. */
static void cfg_emulate(struct vfio_pci *v, unsigned off, unsigned len)
{
    memset(&v->emu[off], 0xff, len);
    memset(&v->fwd[off], 0, len);
}

/* Read live, writes forwarded as written. */
static void cfg_passthrough(struct vfio_pci *v, unsigned off, unsigned len)
{
    memset(&v->emu[off], 0, len);
    memset(&v->fwd[off], 1, len);
    memset(&v->pdev.wmask[off], 0xff, len);
    memset(&v->pdev.w1cmask[off], 0, len);
}

/* Read live, writes dropped (read-only identity registers). */
static void cfg_readonly_live(struct vfio_pci *v, unsigned off, unsigned len)
{
    memset(&v->emu[off], 0, len);
    memset(&v->fwd[off], 0, len);
    memset(&v->pdev.wmask[off], 0, len);
    memset(&v->pdev.w1cmask[off], 0, len);
}

/* Emulated and zero (hidden capabilities, reserved bytes, ROM BAR). */
static void cfg_hide(struct vfio_pci *v, unsigned off, unsigned len)
{
    cfg_emulate(v, off, len);
    memset(&v->pdev.cfg[off], 0, len);
    memset(&v->pdev.wmask[off], 0, len);
    memset(&v->pdev.w1cmask[off], 0, len);
}

/* ---- load: the device's config and the header ------------------------------ */

static int cfg_read_device(struct vfio_pci *v, char *err, size_t errlen)
{
    struct vfio_region r = { 0 };
    int ret = v->cfg.dev.region_info(v->cfg.dev.opaque, VFIO_PCI_CONFIG_REGION_INDEX, &r);
    if (ret || r.size < PCI_CFG_SIZE) {
        snprintf(err, errlen, "%s: no readable config space region (%s)", v->name,
                 ret ? strerror(-ret) : "too small");
        return ret ? ret : -EIO;
    }
    v->cfg_size = r.size >= PCI_CFG_SIZE_EXP ? PCI_CFG_SIZE_EXP : PCI_CFG_SIZE;
    ret = v->cfg.dev.region_read(v->cfg.dev.opaque, VFIO_PCI_CONFIG_REGION_INDEX, 0, v->raw,
                                 v->cfg_size);
    if (ret) {
        snprintf(err, errlen, "%s: reading config space failed: %s", v->name, strerror(-ret));
        return ret;
    }
    return 0;
}

/* Find the first PM / PCIe / MSI / MSI-X capability in the device's list. */
static void cfg_find_caps(struct vfio_pci *v)
{
    if (!(raw16(v, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return;
    unsigned off = v->raw[PCI_CAPABILITY_LIST];
    for (unsigned n = 0; n < VFIO_PCI_CAP_MAX_WALK && off >= PCI_STD_HEADER_SIZEOF; n++) {
        off &= ~(VFIO_PCI_CAP_ALIGN - 1);
        unsigned *slot = NULL;
        switch (v->raw[off + PCI_CAP_LIST_ID]) {
        case PCI_CAP_ID_PM: slot = &v->cap_pm; break;
        case PCI_CAP_ID_EXP: slot = &v->cap_exp; break;
        case PCI_CAP_ID_MSI: slot = &v->cap_msi; break;
        case PCI_CAP_ID_MSIX: slot = &v->cap_msix; break;
        default: break;
        }
        if (slot && !*slot)
            *slot = off;
        off = v->raw[off + PCI_CAP_LIST_NEXT];
    }
}

static void cfg_header(struct vfio_pci *v)
{
    struct pci_device *d = &v->pdev;
    memcpy(d->cfg, v->raw, v->cfg_size);
    /* default: the standard header passes through */
    cfg_passthrough(v, 0, PCI_STD_HEADER_SIZEOF);
    cfg_readonly_live(v, PCI_VENDOR_ID, 4);
    cfg_readonly_live(v, PCI_REVISION_ID, 4);
    cfg_readonly_live(v, PCI_SUBSYSTEM_VENDOR_ID, 4);

    /* command: the shadow holds it for BAR placement, and it is forwarded */
    memset(&v->emu[PCI_COMMAND], 0xff, 2);
    pci_cfg_set16(d, PCI_COMMAND, 0);
    pci_cfg_set_wmask16(d, PCI_COMMAND,
                        PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                            PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);

    /* status: live except the capability-list bit, which follows our list */
    v->emu[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    d->wmask[PCI_STATUS] = (uint8_t)~PCI_STATUS_CAP_LIST;

    cfg_hide(v, PCI_HEADER_TYPE, 1);
    d->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;

    cfg_hide(v, PCI_BASE_ADDRESS_0, VFIO_PCI_BARS_END - PCI_BASE_ADDRESS_0);
    cfg_hide(v, PCI_ROM_ADDRESS, VFIO_PCI_ROM_LEN);
    cfg_hide(v, PCI_CAPABILITY_LIST, PCI_INTERRUPT_LINE - PCI_CAPABILITY_LIST);

    cfg_hide(v, PCI_INTERRUPT_LINE, 1);
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    cfg_hide(v, PCI_INTERRUPT_PIN, 1);
    pci_set_intx_pin(d, v->intx_pin_cfg);

    /* capabilities and extended space: hidden until vfio_pci_config_caps */
    cfg_hide(v, PCI_STD_HEADER_SIZEOF, PCI_CFG_SIZE_EXP - PCI_STD_HEADER_SIZEOF);
}

int vfio_pci_config_load(struct vfio_pci *v, char *err, size_t errlen)
{
    int ret = cfg_read_device(v, err, errlen);
    if (ret)
        return ret;
    if ((v->raw[PCI_HEADER_TYPE] & 0x7f) != PCI_HEADER_TYPE_NORMAL) {
        snprintf(err, errlen, "%s: header type 0x%02x is not a type-0 function (bridges cannot "
                 "be passed through); pass an endpoint", v->name, v->raw[PCI_HEADER_TYPE]);
        return -EINVAL;
    }
    cfg_find_caps(v);
    uint8_t pin = v->raw[PCI_INTERRUPT_PIN];
    bool intx = pin >= 1 && pin <= 4 && v->cfg.ioapic &&
                v->cfg.dev.irq_count(v->cfg.dev.opaque, VFIO_PCI_INTX_IRQ_INDEX) > 0;
    v->intx_pin_cfg = intx ? pin : 0;

    uint32_t class_code = raw32(v, PCI_CLASS_REVISION) >> 8;
    pci_device_init(&v->pdev, v->name, raw16(v, PCI_VENDOR_ID), raw16(v, PCI_DEVICE_ID),
                    class_code, v->raw[PCI_REVISION_ID], v->cap_exp != 0, &vfio_pci_device_ops,
                    v);
    cfg_header(v);
    return 0;
}

/* ---- capabilities ------------------------------------------------------------ */

static unsigned cfg_exp_len(const struct vfio_pci *v, unsigned off)
{
    unsigned vers = raw16(v, off + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_VERS;
    return vers >= 2 ? VFIO_PCI_CAP_EXP_V2_LEN : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
}

/* Kept capability at `off`, `len` bytes: header emulated, body passed through. */
static void cfg_keep_passthrough(struct vfio_pci *v, unsigned off, unsigned len)
{
    if (off + len > PCI_CFG_SIZE)
        len = PCI_CFG_SIZE - off;
    cfg_passthrough(v, off, len);
    memcpy(&v->pdev.cfg[off], &v->raw[off], len);
    cfg_hide(v, off, PCI_CAP_LIST_NEXT + 1);
    v->pdev.cfg[off + PCI_CAP_LIST_ID] = v->raw[off + PCI_CAP_LIST_ID];
}

/* Kept and fully emulated (MSI / MSI-X: the helpers fill body and masks). */
static void cfg_keep_emulated(struct vfio_pci *v, unsigned off)
{
    cfg_hide(v, off, PCI_CAP_LIST_NEXT + 1);
    v->pdev.cfg[off + PCI_CAP_LIST_ID] = v->raw[off + PCI_CAP_LIST_ID];
}

static bool cfg_cap_kept(const struct vfio_pci *v, unsigned off)
{
    return off && (off == v->cap_pm || off == v->cap_exp || off == v->cap_msi ||
                   off == v->cap_msix);
}

/* Re-link the kept capabilities in the device's order. */
static void cfg_relink(struct vfio_pci *v)
{
    struct pci_device *d = &v->pdev;
    unsigned prev = PCI_CAPABILITY_LIST; /* where the next link goes */
    unsigned off = (raw16(v, PCI_STATUS) & PCI_STATUS_CAP_LIST) ? v->raw[PCI_CAPABILITY_LIST] : 0;
    bool any = false;
    for (unsigned n = 0; n < VFIO_PCI_CAP_MAX_WALK && off >= PCI_STD_HEADER_SIZEOF; n++) {
        off &= ~(VFIO_PCI_CAP_ALIGN - 1);
        if (cfg_cap_kept(v, off)) {
            d->cfg[prev] = (uint8_t)off;
            prev = off + PCI_CAP_LIST_NEXT;
            d->cfg[prev] = 0;
            any = true;
        }
        off = v->raw[off + PCI_CAP_LIST_NEXT];
    }
    if (!any)
        d->cfg[PCI_CAPABILITY_LIST] = 0;
    uint16_t status = pci_cfg_get16(d, PCI_STATUS) & (uint16_t)~PCI_STATUS_CAP_LIST;
    pci_cfg_set16(d, PCI_STATUS, status | (any ? PCI_STATUS_CAP_LIST : 0));
}

void vfio_pci_config_caps(struct vfio_pci *v)
{
    if (v->cap_pm)
        cfg_keep_passthrough(v, v->cap_pm, PCI_PM_SIZEOF);
    if (v->cap_exp)
        cfg_keep_passthrough(v, v->cap_exp, cfg_exp_len(v, v->cap_exp));
    if (v->cap_msi)
        cfg_keep_emulated(v, v->cap_msi);
    if (v->cap_msix)
        cfg_keep_emulated(v, v->cap_msix);
    cfg_relink(v);
}

/* ---- the guest path ------------------------------------------------------------ */

static bool cfg_fully_emulated(const struct vfio_pci *v, unsigned off, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        if (v->emu[off + i] != 0xff)
            return false;
    }
    return true;
}

static bool vfio_pci_config_read(struct pci_device *dev, unsigned off, void *data, unsigned size)
{
    struct vfio_pci *v = dev->opaque;
    if (cfg_fully_emulated(v, off, size))
        return false; /* the shadow */
    uint8_t live[4];
    int ret = -EIO;
    if (off + size <= v->cfg_size)
        ret = v->cfg.dev.region_read(v->cfg.dev.opaque, VFIO_PCI_CONFIG_REGION_INDEX, off, live,
                                     size);
    if (ret) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: config read of %u bytes at 0x%x failed: %s",
                        v->name, size, off, strerror(-ret));
        memset(live, 0xff, sizeof(live));
    }
    uint8_t *out = data;
    for (unsigned i = 0; i < size; i++) {
        uint8_t shadow = __atomic_load_n(&dev->cfg[off + i], __ATOMIC_RELAXED);
        out[i] = (uint8_t)((live[i] & ~v->emu[off + i]) | (shadow & v->emu[off + i]));
    }
    return true;
}

/* Forward [off, off + len) from the shadow in naturally aligned pieces. */
static void cfg_forward_run(struct vfio_pci *v, unsigned off, unsigned len)
{
    while (len) {
        unsigned n = 4;
        while (n > 1 && ((off & (n - 1)) || n > len))
            n /= 2;
        uint8_t buf[4];
        for (unsigned i = 0; i < n; i++)
            buf[i] = __atomic_load_n(&v->pdev.cfg[off + i], __ATOMIC_RELAXED);
        int ret = v->cfg.dev.region_write(v->cfg.dev.opaque, VFIO_PCI_CONFIG_REGION_INDEX, off,
                                          buf, n);
        if (ret)
            LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: config write of %u bytes at 0x%x failed: %s",
                            v->name, n, off, strerror(-ret));
        off += n;
        len -= n;
    }
}

static void vfio_pci_config_written(struct pci_device *dev, unsigned off, unsigned size)
{
    struct vfio_pci *v = dev->opaque;
    unsigned i = 0;
    while (i < size) {
        if (!v->fwd[off + i] || off + i >= v->cfg_size) {
            i++;
            continue;
        }
        unsigned start = i;
        while (i < size && v->fwd[off + i] && off + i < v->cfg_size)
            i++;
        cfg_forward_run(v, off + start, i - start);
    }
    vfio_pci_irq_config_written(v, off, size);
}

static void vfio_pci_bar_placed_hook(struct pci_device *dev, unsigned bar, bool mapped,
                                     uint64_t addr)
{
    vfio_pci_bar_placed(dev->opaque, bar, mapped, addr);
}

const struct pci_device_ops vfio_pci_device_ops = {
    .config_written = vfio_pci_config_written,
    .config_read = vfio_pci_config_read,
    .bar_placed = vfio_pci_bar_placed_hook,
};
