/* SPDX-License-Identifier: MIT */
/* Shared by machine_pci.c and machine_vfio.c only. */
#ifndef SLUICE_VMM_MACHINE_PCI_INTERNAL_H
#define SLUICE_VMM_MACHINE_PCI_INTERNAL_H

#include "vmm/machine_pci.h"

/* Place `dev` in the next free slot of bus 0, behind a new root port unless
 * `place` asks for bus 0, and record whether it sits behind the IOMMU.
 * Returns 0 or -errno with one line in err. */
int machine_pci_place(struct machine_pci *p, struct pci_device *dev,
                      const struct cli_pci_place *place, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
