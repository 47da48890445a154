/* SPDX-License-Identifier: MIT */
/*
 * Capabilities of a virtio-pci function: the PCIe endpoint capability, the
 * virtio vendor capabilities that locate the structures in BAR 4 (4.1.4), and
 * the PCI configuration access window (VIRTIO_PCI_CAP_PCI_CFG, 4.1.4.9).
 */
#define LOG_MODULE "virtio-pci"
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "devices/bits.h"
#include "devices/virtio/virtio_pci_internal.h"
#include "devices/virtio/virtio_pci_regs.h"
#include "vmm/log.h"

static int add_pcie_cap(struct virtio_pci *vp)
{
    struct pci_device *d = &vp->pci;
    int cap = pci_add_capability(d, PCI_CAP_ID_EXP, VIRTIO_PCI_PCIE_CAP_LEN);
    if (cap < 0)
        return cap;
    pci_cfg_set16(d, cap + PCI_EXP_FLAGS,
                  (uint16_t)(FIELD_PREP(PCI_EXP_FLAGS_VERS, VIRTIO_PCI_PCIE_CAP_VERSION) |
                             FIELD_PREP(PCI_EXP_FLAGS_TYPE, PCI_EXP_TYPE_ENDPOINT)));
    /* 128-byte max payload, role-based error reporting (as every PCIe 1.1+ device). */
    pci_cfg_set32(d, cap + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_RBER);
    pci_cfg_set16(d, cap + PCI_EXP_DEVCTL,
                  PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN |
                      PCI_EXP_DEVCTL_READRQ_512B);
    pci_cfg_set_wmask16(d, cap + PCI_EXP_DEVCTL,
                        PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE |
                            PCI_EXP_DEVCTL_URRE | PCI_EXP_DEVCTL_RELAX_EN |
                            PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_EXT_TAG |
                            PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ);
    pci_cfg_set_w1cmask16(d, cap + PCI_EXP_DEVSTA,
                          PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | PCI_EXP_DEVSTA_FED |
                              PCI_EXP_DEVSTA_URD);
    pci_cfg_set32(d, cap + PCI_EXP_LNKCAP,
                  (uint32_t)(PCI_EXP_LNKCAP_SLS_2_5GB |
                             FIELD_PREP(PCI_EXP_LNKCAP_MLW, VIRTIO_PCI_PCIE_LINK_WIDTH)));
    pci_cfg_set_wmask16(d, cap + PCI_EXP_LNKCTL,
                        PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB | PCI_EXP_LNKCTL_CCC |
                            PCI_EXP_LNKCTL_ES);
    pci_cfg_set16(d, cap + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_CLS_2_5GB | PCI_EXP_LNKSTA_NLW_X1);
    return 0;
}

/* One struct virtio_pci_cap (plus `extra` bytes) describing [off, off+len) of BAR 4. */
static int add_vendor_cap(struct virtio_pci *vp, uint8_t type, unsigned extra, uint32_t off,
                          uint32_t len)
{
    struct pci_device *d = &vp->pci;
    unsigned cap_len = sizeof(struct virtio_pci_cap) + extra;
    int cap = pci_add_capability(d, PCI_CAP_ID_VNDR, cap_len);
    if (cap < 0)
        return cap;
    pci_cfg_set8(d, cap + VIRTIO_PCI_CAP_LEN, (uint8_t)cap_len);
    pci_cfg_set8(d, cap + VIRTIO_PCI_CAP_CFG_TYPE, type);
    pci_cfg_set8(d, cap + VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_BAR);
    pci_cfg_set32(d, cap + VIRTIO_PCI_CAP_OFFSET, off);
    pci_cfg_set32(d, cap + VIRTIO_PCI_CAP_LENGTH, len);
    return cap;
}

static int add_cfg_window_cap(struct virtio_pci *vp)
{
    struct pci_device *d = &vp->pci;
    /* The driver picks the BAR, offset and length, then accesses the data. */
    int cap = add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_CFG_CAP_DATA_LEN, 0, 0);
    if (cap < 0)
        return cap;
    pci_cfg_set8(d, cap + VIRTIO_PCI_CAP_BAR, 0);
    d->wmask[cap + VIRTIO_PCI_CAP_BAR] = 0xff;
    pci_cfg_set_wmask32(d, cap + VIRTIO_PCI_CAP_OFFSET, UINT32_MAX);
    pci_cfg_set_wmask32(d, cap + VIRTIO_PCI_CAP_LENGTH, UINT32_MAX);
    pci_cfg_set_wmask32(d, cap + VIRTIO_PCI_CFG_CAP_DATA, UINT32_MAX);
    vp->cfg_cap = (unsigned)cap;
    return 0;
}

int virtio_pci_add_caps(struct virtio_pci *vp)
{
    int rc = add_pcie_cap(vp);
    if (rc < 0)
        return rc;
    rc = add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, 0, VIRTIO_PCI_COMMON_OFF,
                        VIRTIO_PCI_REGION_SIZE);
    if (rc < 0)
        return rc;
    rc = add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, 0, VIRTIO_PCI_ISR_OFF,
                        VIRTIO_PCI_REGION_SIZE);
    if (rc < 0)
        return rc;
    rc = add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, 0, VIRTIO_PCI_DEVICE_OFF,
                        VIRTIO_PCI_REGION_SIZE);
    if (rc < 0)
        return rc;
    rc = add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG,
                        sizeof(struct virtio_pci_notify_cap) - sizeof(struct virtio_pci_cap),
                        VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_REGION_SIZE);
    if (rc < 0)
        return rc;
    pci_cfg_set32(&vp->pci, (unsigned)rc + VIRTIO_PCI_NOTIFY_CAP_MULT,
                  VIRTIO_PCI_NOTIFY_MULTIPLIER);
    return add_cfg_window_cap(vp);
}

static bool window_overlaps(const struct virtio_pci *vp, unsigned off, unsigned size)
{
    unsigned data = vp->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA;
    return vp->cfg_cap && off < data + VIRTIO_PCI_CFG_CAP_DATA_LEN && off + size > data;
}

/* The BAR access the window's bar/offset/length select, or false when the
 * driver programmed something the spec does not allow (4.1.4.9.1). */
static bool window_target(const struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
    const struct pci_device *d = &vp->pci;
    uint8_t bar = pci_cfg_get8(d, vp->cfg_cap + VIRTIO_PCI_CAP_BAR);
    *off = pci_cfg_get32(d, vp->cfg_cap + VIRTIO_PCI_CAP_OFFSET);
    *len = pci_cfg_get32(d, vp->cfg_cap + VIRTIO_PCI_CAP_LENGTH);
    if (*len == 0)
        return false; /* not programmed: a plain dump of config space reads it */
    if (bar != VIRTIO_PCI_BAR || (*len != 1 && *len != 2 && *len != 4) || *off % *len ||
        *off + (uint64_t)*len > VIRTIO_PCI_BAR_SIZE) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: bad PCI_CFG window bar %u offset 0x%x length %u",
                        vp->name, bar, *off, *len);
        return false;
    }
    return true;
}

void virtio_pci_cfg_window_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
    uint8_t buf[VIRTIO_PCI_CFG_CAP_DATA_LEN];
    uint32_t bar_off;
    unsigned len;
    if (!window_overlaps(vp, off, size))
        return;
    memset(buf, 0xff, sizeof(buf));
    if (window_target(vp, &bar_off, &len)) {
        memset(buf, 0, sizeof(buf));
        virtio_pci_bar_read(vp, bar_off, buf, len);
    }
    /* The generic path then reads the shadow, now holding the BAR data. */
    memcpy(&vp->pci.cfg[vp->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA], buf, sizeof(buf));
}

void virtio_pci_cfg_window_written(struct virtio_pci *vp, unsigned off, unsigned size)
{
    uint32_t bar_off;
    unsigned len;
    if (!window_overlaps(vp, off, size) || !window_target(vp, &bar_off, &len))
        return;
    virtio_pci_bar_write(vp, bar_off, &vp->pci.cfg[vp->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA],
                         len);
}
