/* SPDX-License-Identifier: MIT */
/*
 * PCIe root port: a type-1 (PCI-to-PCI bridge) header with bus numbers and
 * IO / memory / prefetchable windows as the PCI-to-PCI Bridge spec defines
 * them, and a v2 PCIe capability (Root Port, slot implemented, link up).
 * Layout only; forwarding decisions use the windows read back here.
 */
#define LOG_MODULE "pci"
#include <stdint.h>

#include "devices/bits.h"
#include "devices/pci/pci_host_internal.h"
#include "devices/pci/pci_regs.h"

#define RP_IO_RANGE_ADDR_MASK 0xf0u      /* IO base/limit bits 7:4 = address 15:12 */
#define RP_MEM_RANGE_ADDR_MASK 0xfff0u   /* memory base/limit bits 15:4 = address 31:20 */
#define RP_IO_LIMIT_LOW 0xfffULL         /* limit registers name the last 4 KiB */
#define RP_MEM_LIMIT_LOW 0xfffffULL      /* ... and the last 1 MiB */
#define RP_BRIDGE_CTL_WRITABLE                                                           \
    (PCI_BRIDGE_CTL_PARITY | PCI_BRIDGE_CTL_SERR | PCI_BRIDGE_CTL_ISA | PCI_BRIDGE_CTL_VGA | \
     PCI_BRIDGE_CTL_MASTER_ABORT | PCI_BRIDGE_CTL_BUS_RESET)
#define RP_STATUS_ERRORS                                                                 \
    (PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT |     \
     PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)
#define RP_DEVCTL_WRITABLE                                                               \
    (PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE | \
     PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_EXT_TAG |          \
     PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ)
#define RP_DEVSTA_ERRORS                                                                 \
    (PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD)
#define RP_LNKCTL_WRITABLE (PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES)
#define RP_SLTSTA_CHANGES                                                                \
    (PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_MRLSC | PCI_EXP_SLTSTA_PDC | \
     PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_DLLSC)
#define RP_RTCTL_WRITABLE                                                                \
    (PCI_EXP_RTCTL_SECEE | PCI_EXP_RTCTL_SENFEE | PCI_EXP_RTCTL_SEFEE | PCI_EXP_RTCTL_PMEIE)
#define RP_RTSTA_PME_HI16 (PCI_EXP_RTSTA_PME >> 16)
#define RP_INTX_PIN_INTA 1

static void pci_root_port_init_bridge_regs(struct pci_device *d)
{
    pci_cfg_set8(d, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE);
    d->wmask[PCI_PRIMARY_BUS] = UINT8_MAX;
    d->wmask[PCI_SECONDARY_BUS] = UINT8_MAX;
    d->wmask[PCI_SUBORDINATE_BUS] = UINT8_MAX;
    pci_cfg_set_w1cmask16(d, PCI_SEC_STATUS, RP_STATUS_ERRORS);
    /* 16-bit IO decode: type nibble 0, PCI_IO_BASE_UPPER16 read-only zero */
    pci_cfg_set8(d, PCI_IO_BASE, PCI_IO_RANGE_TYPE_16);
    pci_cfg_set8(d, PCI_IO_LIMIT, PCI_IO_RANGE_TYPE_16);
    d->wmask[PCI_IO_BASE] = RP_IO_RANGE_ADDR_MASK;
    d->wmask[PCI_IO_LIMIT] = RP_IO_RANGE_ADDR_MASK;
    pci_cfg_set_wmask16(d, PCI_MEMORY_BASE, RP_MEM_RANGE_ADDR_MASK);
    pci_cfg_set_wmask16(d, PCI_MEMORY_LIMIT, RP_MEM_RANGE_ADDR_MASK);
    /* 64-bit prefetchable window */
    pci_cfg_set16(d, PCI_PREF_MEMORY_BASE, PCI_PREF_RANGE_TYPE_64);
    pci_cfg_set16(d, PCI_PREF_MEMORY_LIMIT, PCI_PREF_RANGE_TYPE_64);
    pci_cfg_set_wmask16(d, PCI_PREF_MEMORY_BASE, RP_MEM_RANGE_ADDR_MASK);
    pci_cfg_set_wmask16(d, PCI_PREF_MEMORY_LIMIT, RP_MEM_RANGE_ADDR_MASK);
    pci_cfg_set_wmask32(d, PCI_PREF_BASE_UPPER32, UINT32_MAX);
    pci_cfg_set_wmask32(d, PCI_PREF_LIMIT_UPPER32, UINT32_MAX);
    pci_cfg_set_wmask16(d, PCI_BRIDGE_CONTROL, RP_BRIDGE_CTL_WRITABLE);
    pci_set_intx_pin(d, RP_INTX_PIN_INTA);
}

static void pci_root_port_init_pcie_cap(struct pci_device *d, uint8_t devfn, unsigned c)
{
    pci_cfg_set16(d, c + PCI_EXP_FLAGS,
                  (uint16_t)(FIELD_PREP(PCI_EXP_FLAGS_VERS, PCI_EXP_FLAGS_VERS_2) |
                             FIELD_PREP(PCI_EXP_FLAGS_TYPE, PCI_EXP_TYPE_ROOT_PORT) |
                             PCI_EXP_FLAGS_SLOT));
    pci_cfg_set32(d, c + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_RBER);
    pci_cfg_set_wmask16(d, c + PCI_EXP_DEVCTL, RP_DEVCTL_WRITABLE);
    pci_cfg_set_w1cmask16(d, c + PCI_EXP_DEVSTA, RP_DEVSTA_ERRORS);
    pci_cfg_set32(d, c + PCI_EXP_LNKCAP,
                  PCI_EXP_LNKCAP_SLS_2_5GB | PCI_EXP_LNKCAP_MLW_X1 | PCI_EXP_LNKCAP_DLLLARC |
                      (uint32_t)FIELD_PREP(PCI_EXP_LNKCAP_PN, PCI_DEVFN_SLOT(devfn)));
    pci_cfg_set_wmask16(d, c + PCI_EXP_LNKCTL, RP_LNKCTL_WRITABLE);
    pci_cfg_set16(d, c + PCI_EXP_LNKSTA,
                  PCI_EXP_LNKSTA_CLS_2_5GB | PCI_EXP_LNKSTA_NLW_X1 | PCI_EXP_LNKSTA_SLC |
                      PCI_EXP_LNKSTA_DLLLA);
    /* a plain slot: no hotplug, physical slot number = devfn (unique on bus 0) */
    pci_cfg_set32(d, c + PCI_EXP_SLTCAP, (uint32_t)FIELD_PREP(PCI_EXP_SLTCAP_PSN, devfn));
    pci_cfg_set_w1cmask16(d, c + PCI_EXP_SLTSTA, RP_SLTSTA_CHANGES);
    pci_cfg_set_wmask16(d, c + PCI_EXP_RTCTL, RP_RTCTL_WRITABLE);
    pci_cfg_set_w1cmask16(d, c + PCI_EXP_RTSTA + 2, RP_RTSTA_PME_HI16);
    pci_cfg_set32(d, c + PCI_EXP_LNKCAP2, PCI_EXP_LNKCAP2_SLS_2_5GB);
    pci_cfg_set16(d, c + PCI_EXP_LNKCTL2, PCI_EXP_LNKCTL2_TLS_2_5GT);
    pci_cfg_set_wmask16(d, c + PCI_EXP_LNKCTL2, PCI_EXP_LNKCTL2_TLS);
}

void pci_root_port_init(struct pci_bridge *br, uint8_t devfn)
{
    struct pci_device *d = &br->dev;
    pci_device_init(d, "pcie-root-port", PCI_VENDOR_ID_REDHAT, PCI_DEVICE_ID_REDHAT_PCIE_RP,
                    PCI_CLASS_CODE_PCI_BRIDGE, 0, true, NULL, NULL);
    d->bridge = br;
    pci_root_port_init_bridge_regs(d);
    int c = pci_add_capability(d, PCI_CAP_ID_EXP, PCI_CAP_EXP_ROOT_PORT_SIZEOF_V2);
    /* the first capability of an empty function always fits */
    if (c > 0)
        pci_root_port_init_pcie_cap(d, devfn, (unsigned)c);
}

void pci_root_port_set_presence(struct pci_bridge *br, bool present)
{
    unsigned c = pci_find_capability(&br->dev, PCI_CAP_ID_EXP);
    if (!c)
        return;
    uint16_t sta = pci_cfg_get16(&br->dev, c + PCI_EXP_SLTSTA);
    sta = present ? (uint16_t)(sta | PCI_EXP_SLTSTA_PDS) : (uint16_t)(sta & ~PCI_EXP_SLTSTA_PDS);
    pci_cfg_set16(&br->dev, c + PCI_EXP_SLTSTA, sta);
}

uint8_t pci_bridge_secondary(const struct pci_bridge *br)
{
    return pci_cfg_get8(&br->dev, PCI_SECONDARY_BUS);
}

uint8_t pci_bridge_subordinate(const struct pci_bridge *br)
{
    return pci_cfg_get8(&br->dev, PCI_SUBORDINATE_BUS);
}

struct pci_window pci_bridge_io_window(const struct pci_bridge *br)
{
    uint64_t base = (uint64_t)(pci_cfg_get8(&br->dev, PCI_IO_BASE) & RP_IO_RANGE_ADDR_MASK);
    uint64_t limit = (uint64_t)(pci_cfg_get8(&br->dev, PCI_IO_LIMIT) & RP_IO_RANGE_ADDR_MASK);
    return (struct pci_window){
        .base = base << PCI_BRIDGE_IO_SHIFT,
        .limit = limit << PCI_BRIDGE_IO_SHIFT | RP_IO_LIMIT_LOW,
    };
}

struct pci_window pci_bridge_mem_window(const struct pci_bridge *br)
{
    uint64_t base = pci_cfg_get16(&br->dev, PCI_MEMORY_BASE) & RP_MEM_RANGE_ADDR_MASK;
    uint64_t limit = pci_cfg_get16(&br->dev, PCI_MEMORY_LIMIT) & RP_MEM_RANGE_ADDR_MASK;
    return (struct pci_window){
        .base = base << PCI_BRIDGE_MEM_SHIFT,
        .limit = limit << PCI_BRIDGE_MEM_SHIFT | RP_MEM_LIMIT_LOW,
    };
}

struct pci_window pci_bridge_pref_window(const struct pci_bridge *br)
{
    uint64_t base = pci_cfg_get16(&br->dev, PCI_PREF_MEMORY_BASE) & RP_MEM_RANGE_ADDR_MASK;
    uint64_t limit = pci_cfg_get16(&br->dev, PCI_PREF_MEMORY_LIMIT) & RP_MEM_RANGE_ADDR_MASK;
    uint64_t base_hi = pci_cfg_get32(&br->dev, PCI_PREF_BASE_UPPER32);
    uint64_t limit_hi = pci_cfg_get32(&br->dev, PCI_PREF_LIMIT_UPPER32);
    return (struct pci_window){
        .base = base_hi << 32 | base << PCI_BRIDGE_MEM_SHIFT,
        .limit = limit_hi << 32 | limit << PCI_BRIDGE_MEM_SHIFT | RP_MEM_LIMIT_LOW,
    };
}

void pci_bridge_set_io_window(struct pci_bridge *br, struct pci_window w)
{
    uint8_t base = RP_IO_RANGE_ADDR_MASK, limit = 0; /* closed */
    if (w.base <= w.limit) {
        base = (uint8_t)((w.base >> PCI_BRIDGE_IO_SHIFT) & RP_IO_RANGE_ADDR_MASK);
        limit = (uint8_t)((w.limit >> PCI_BRIDGE_IO_SHIFT) & RP_IO_RANGE_ADDR_MASK);
    }
    pci_cfg_set8(&br->dev, PCI_IO_BASE, base | PCI_IO_RANGE_TYPE_16);
    pci_cfg_set8(&br->dev, PCI_IO_LIMIT, limit | PCI_IO_RANGE_TYPE_16);
}

void pci_bridge_set_mem_window(struct pci_bridge *br, struct pci_window w)
{
    uint16_t base = RP_MEM_RANGE_ADDR_MASK, limit = 0;
    if (w.base <= w.limit) {
        base = (uint16_t)((w.base >> PCI_BRIDGE_MEM_SHIFT) & RP_MEM_RANGE_ADDR_MASK);
        limit = (uint16_t)((w.limit >> PCI_BRIDGE_MEM_SHIFT) & RP_MEM_RANGE_ADDR_MASK);
    }
    pci_cfg_set16(&br->dev, PCI_MEMORY_BASE, base);
    pci_cfg_set16(&br->dev, PCI_MEMORY_LIMIT, limit);
}

void pci_bridge_set_pref_window(struct pci_bridge *br, struct pci_window w)
{
    uint64_t base = UINT64_MAX, limit = 0;
    if (w.base <= w.limit) {
        base = w.base;
        limit = w.limit;
    }
    pci_cfg_set16(&br->dev, PCI_PREF_MEMORY_BASE,
                  (uint16_t)((base >> PCI_BRIDGE_MEM_SHIFT) & RP_MEM_RANGE_ADDR_MASK) |
                      PCI_PREF_RANGE_TYPE_64);
    pci_cfg_set16(&br->dev, PCI_PREF_MEMORY_LIMIT,
                  (uint16_t)((limit >> PCI_BRIDGE_MEM_SHIFT) & RP_MEM_RANGE_ADDR_MASK) |
                      PCI_PREF_RANGE_TYPE_64);
    pci_cfg_set32(&br->dev, PCI_PREF_BASE_UPPER32, (uint32_t)(base >> 32));
    pci_cfg_set32(&br->dev, PCI_PREF_LIMIT_UPPER32, (uint32_t)(limit >> 32));
}

void pci_bridge_set_buses(struct pci_bridge *br, uint8_t primary, uint8_t secondary,
                          uint8_t subordinate)
{
    pci_cfg_set8(&br->dev, PCI_PRIMARY_BUS, primary);
    pci_cfg_set8(&br->dev, PCI_SECONDARY_BUS, secondary);
    pci_cfg_set8(&br->dev, PCI_SUBORDINATE_BUS, subordinate);
}

/* ISA enable blocks IO addresses whose bits 9:8 are not zero. */
static bool pci_bridge_isa_blocks(const struct pci_bridge *br, uint64_t first, uint64_t last)
{
    if (!(pci_cfg_get16(&br->dev, PCI_BRIDGE_CONTROL) & PCI_BRIDGE_CTL_ISA))
        return false;
    return last - first >= PCI_BRIDGE_ISA_SPAN ||
           (first & PCI_BRIDGE_ISA_ALIAS_MASK) || (last & PCI_BRIDGE_ISA_ALIAS_MASK);
}

bool pci_bridge_forwards(const struct pci_bridge *br, const struct pci_bar *bar, uint64_t first,
                         uint64_t last)
{
    uint16_t cmd = pci_cfg_get16(&br->dev, PCI_COMMAND);
    if (bar->type == PCI_BAR_IO) {
        return (cmd & PCI_COMMAND_IO) &&
               pci_window_contains(pci_bridge_io_window(br), first, last) &&
               !pci_bridge_isa_blocks(br, first, last);
    }
    if (!(cmd & PCI_COMMAND_MEMORY))
        return false;
    if (pci_window_contains(pci_bridge_mem_window(br), first, last))
        return true;
    return bar->prefetchable && pci_window_contains(pci_bridge_pref_window(br), first, last);
}
