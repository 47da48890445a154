/* SPDX-License-Identifier: MIT */
/*
 * The PIO/MMIO bus: one callback shape for port I/O and MMIO.
 *
 * A device registers [base, base + len - 1] with callbacks that only ever see
 * an offset from base. Ranges are stored as [base, last] so a range ending at
 * the top of the address space does not overflow. Overlapping registrations
 * are refused. The bus enforces the access sizes and alignment the device
 * declared; an access the device did not declare, or to an address nobody
 * owns, reads all-ones and drops writes, with a rate-limited log line.
 *
 * Thread safety: dispatch may run on any vCPU thread concurrently; register /
 * unregister may run at any time (a read-write lock guards the table). The
 * device callbacks do their own locking.
 *
 * Callbacks run WITHOUT the bus lock: dispatch copies the region (ops, opaque,
 * base) under the read lock, releases it, then calls the device. So a
 * callback may itself call bus_register/bus_unregister (a PCI config write
 * re-placing BARs), and, in turn, after bus_unregister returns a callback of
 * the removed region may still be running or about to run on another thread
 * (with the old base). A device's ops and opaque must therefore stay valid
 * until all vCPUs have stopped; devices are destroyed only after that.
 */
#ifndef SLUICE_DEVICES_BUS_H
#define SLUICE_DEVICES_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Access sizes a device accepts: OR of these. */
#define BUS_SIZE_1 (1u << 0)
#define BUS_SIZE_2 (1u << 1)
#define BUS_SIZE_4 (1u << 2)
#define BUS_SIZE_8 (1u << 3)
#define BUS_SIZE_ANY (BUS_SIZE_1 | BUS_SIZE_2 | BUS_SIZE_4 | BUS_SIZE_8)

/*
 * Callbacks. `data` holds `size` bytes in guest (little-endian) order.
 * read must fill all `size` bytes. Return values are ignored by the bus;
 * devices answer bad accesses the way hardware does themselves.
 */
struct bus_ops {
    void (*read)(void *opaque, uint64_t offset, void *data, unsigned size);
    void (*write)(void *opaque, uint64_t offset, const void *data, unsigned size);
};

struct bus_region {
    uint64_t base;
    uint64_t last;          /* inclusive */
    const struct bus_ops *ops;
    void *opaque;
    unsigned sizes;         /* BUS_SIZE_* mask */
    bool aligned;           /* offset must be a multiple of the access size */
    const char *name;       /* static string, for logs */
};

struct bus {
    const char *name;       /* "pio" or "mmio" */
    pthread_rwlock_t lock;
    struct bus_region *regions; /* sorted by base, non-overlapping */
    size_t count, capacity;
};

/* Initialise an empty bus. Returns 0 or -errno. */
int bus_init(struct bus *bus, const char *name);
/* Free the table; no callbacks run after this returns. */
void bus_destroy(struct bus *bus);

/*
 * Register a device at [base, base + len - 1]. len must be non-zero and the
 * range must not wrap past 2^64. Returns 0, -EINVAL (len 0, wrap, no sizes,
 * missing callbacks), -EEXIST (overlap with an existing region) or -ENOMEM.
 * `ops`, `opaque` and `name` must outlive the registration.
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, unsigned sizes, bool aligned, const char *name)
    __attribute__((warn_unused_result));
/* Remove the region registered at exactly `base`. Returns 0 or -ENOENT.
 * A callback may still be in flight on another thread (see above). */
int bus_unregister(struct bus *bus, uint64_t base);

/*
 * Dispatch an access of `size` (1, 2, 4 or 8) bytes at `addr`. Returns true
 * when a device handled it; false when it was answered with all-ones/dropped.
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned size);

#endif
