/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing. Pure: it checks syntax and ranges only; main() checks
 * files, /dev/kvm and host limits afterwards. Every error is one line in
 * `err` naming the option and what to do.
 */
#ifndef SLUICE_VMM_CLI_H
#define SLUICE_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"
#include "vmm/topology.h"

#define CLI_MIN_CPUS 1
#define CLI_MAX_CPUS TOPOLOGY_MAX_CPUS
#define CLI_DEFAULT_CPUS 1
#define CLI_DEFAULT_MEMORY (512ULL << 20)
#define CLI_DEFAULT_CMDLINE "console=ttyS0"

enum cli_serial_mode { CLI_SERIAL_STDIO, CLI_SERIAL_FILE, CLI_SERIAL_PTY, CLI_SERIAL_OFF };

#define CLI_MAX_DISKS 8
#define CLI_MAX_NETS 4
#define CLI_MAX_VFIO 8
#define CLI_PATH_MAX 4096
#define CLI_DISK_ID_MAX 20   /* virtio-blk serial (GET_ID) length */
#define CLI_TAP_NAME_MAX 15  /* IFNAMSIZ - 1 */

/* Where a PCI device sits: behind its own PCIe root port (default, like
 * q35's pcie-root-port) or directly on bus 0. */
enum cli_pci_bus { CLI_BUS_ROOT_PORT = 0, CLI_BUS_ZERO };

/* Whether a device sits behind the vIOMMU: by default every PCI device does
 * when --iommu is given. */
enum cli_iommu_place { CLI_IOMMU_DEFAULT = 0, CLI_IOMMU_ON, CLI_IOMMU_OFF };

struct cli_pci_place {
    enum cli_pci_bus bus;
    enum cli_iommu_place iommu;
};

struct cli_disk {
    char path[CLI_PATH_MAX];
    char id[CLI_DISK_ID_MAX + 1]; /* "disk<N>" unless id= given */
    bool readonly;
    struct cli_pci_place place;
};

/* --device vfio=SPEC: a host PCI device passed through. spec is a PCI
 * address in canonical "DDDD:BB:DD.F" form (a short "BB:DD.F" gets domain
 * 0000) or an absolute sysfs path as given; whether it exists is checked
 * when the VM is built. */
struct cli_vfio {
    char spec[CLI_PATH_MAX];
    struct cli_pci_place place;
};

enum cli_iommu_model { CLI_IOMMU_NONE = 0, CLI_IOMMU_AMD };

struct cli_iommu {
    enum cli_iommu_model model;
    bool guest_tables;  /* advertise v2 (GTSup/GIOSup): pgtbl=v1,v2 (default) or pgtbl=v1 */
    bool npcache;       /* capability NpCache: guest invalidates on every map */
    bool intremap;      /* interrupt remapping (GASup/XTSup): intremap=on (default) */
};

/*
 * Which APIC IDs the vCPUs get (vmm/topology.h): dense 0..cpus-1 by default,
 * --topology sockets=S,cores=C,threads=T[,apic-id-stride=N] like QEMU's -smp,
 * or an explicit --apic-ids list. Counts left out of --topology are 1, except
 * that cores is derived from --cpus when --cpus is given and cores is not.
 */
struct cli_topology {
    enum topology_mode mode;
    unsigned sockets, cores, threads; /* TOPOLOGY_SMP; 0 = not given */
    uint64_t apic_id_stride;          /* TOPOLOGY_SMP; 0 = not given */
    unsigned nids;                    /* TOPOLOGY_LIST */
    uint32_t apic_ids[CLI_MAX_CPUS];  /* TOPOLOGY_LIST */
};

struct cli_net {
    char tap[CLI_TAP_NAME_MAX + 1];
    uint8_t mac[6];
    bool mac_set;
    struct cli_pci_place place;
};

struct cli_options {
    const char *kernel;      /* required */
    const char *initrd;      /* NULL: none */
    const char *cmdline;
    unsigned cpus;           /* after cli_parse(): the vCPU count of the topology */
    bool cpus_set;           /* --cpus given */
    struct cli_topology topo;
    uint64_t memory;         /* bytes */
    bool hugepages;
    enum cli_serial_mode serial;
    const char *serial_path; /* CLI_SERIAL_FILE only; points into argv */
    enum log_level log_level;
    const char *kvm_path;    /* /dev/kvm unless --kvm-device */
    unsigned ndisks;
    struct cli_disk disks[CLI_MAX_DISKS];
    unsigned nnets;
    struct cli_net nets[CLI_MAX_NETS];
    bool rng;
    struct cli_pci_place rng_place;
    bool edu;               /* --device edu: the DMA test device */
    struct cli_pci_place edu_place;
    unsigned nvfio;         /* --device vfio=...: passthrough devices */
    struct cli_vfio vfio[CLI_MAX_VFIO];
    struct cli_iommu iommu;
};

enum cli_result {
    CLI_RUN = 0,     /* options valid: boot */
    CLI_HELP = 1,    /* --help given */
    CLI_VERSION = 2, /* --version given */
};

/*
 * Parse argv. Returns CLI_RUN/CLI_HELP/CLI_VERSION, or -EINVAL with one line
 * in err. `opts` points into argv, which must outlive it.
 */
int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen);

/* Parse "256M", "1G", "4096", "512K" into bytes. Returns 0 or -EINVAL/-ERANGE. */
int cli_parse_size(const char *s, uint64_t *out);

/* Device options (vmm/cli_devices.c): parse one --disk / --net / --rng value
 * into `o`. Returns 0 or -EINVAL with one line in err. */
int cli_parse_disk(const char *arg, struct cli_options *o, char *err, size_t errlen);
int cli_parse_net(const char *arg, struct cli_options *o, char *err, size_t errlen);
int cli_parse_rng(const char *arg, struct cli_options *o, char *err, size_t errlen);
int cli_parse_device(const char *arg, struct cli_options *o, char *err, size_t errlen);
int cli_parse_iommu(const char *arg, struct cli_options *o, char *err, size_t errlen);
/* After all options: iommu=on without --iommu is an error. */
int cli_check_devices(const struct cli_options *o, char *err, size_t errlen);

/* --topology and --apic-ids values (vmm/cli_devices.c). Returns 0 or -EINVAL. */
int cli_parse_topology(const char *arg, struct cli_options *o, char *err, size_t errlen);
int cli_parse_apic_ids(const char *arg, struct cli_options *o, char *err, size_t errlen);
/*
 * After all options: settle o->cpus with the topology, compute it (checking
 * IDs and counts), and refuse APIC IDs above TOPOLOGY_XAPIC_MAX_ID unless
 * --iommu amd with intremap=on is given. Returns 0 or -EINVAL with one line.
 */
int cli_check_topology(struct cli_options *o, char *err, size_t errlen);
/* The topology request for validated options (o->topo.apic_ids borrowed). */
void cli_topology_request(const struct cli_options *o, struct topology_request *req);
/* Is a device with this placement behind the vIOMMU? */
bool cli_behind_iommu(const struct cli_options *o, const struct cli_pci_place *p);

/* The --help text. */
extern const char cli_usage[];

#endif
