/* SPDX-License-Identifier: MIT */
#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/layout.h"

const char cli_usage[] =
    "Usage: sluice --kernel PATH [options]\n"
    "Boot a Linux kernel in a KVM microVM.\n"
    "\n"
    "  --kernel PATH        bzImage or uncompressed vmlinux ELF (required)\n"
    "  --initrd PATH        initramfs / initrd image\n"
    "  --cmdline STR        kernel command line (default: \"" CLI_DEFAULT_CMDLINE "\")\n"
    "  --cpus N             number of vCPUs, 1-1024 (default 1; at most what KVM allows)\n"
    "  --topology sockets=S,cores=C,threads=T[,apic-id-stride=N]\n"
    "                       vCPU topology as on real x86: APIC ID = socket, core and\n"
    "                       thread fields, each as wide as its count rounded up to a\n"
    "                       power of two (sockets=2,cores=3: IDs 0,1,2,4,5,6);\n"
    "                       apic-id-stride spaces the sockets further apart\n"
    "                       (sockets=2,cores=2,apic-id-stride=256: 0,1,256,257);\n"
    "                       counts left out are 1 (cores: from --cpus)\n"
    "  --apic-ids LIST      explicit APIC IDs, vCPU 0 first, e.g. 0,1,2,300\n"
    "                       APIC IDs above 254 need --iommu amd (intremap=on)\n"
    "  --memory SIZE        guest RAM, K/M/G suffixes (default 512M)\n"
    "  --hugepages          back guest RAM with 2 MiB huge pages\n"
    "  --serial MODE        COM1 backend: stdio (default), file=PATH, pty, off\n"
    "  --log-level LEVEL    error, warn (default), info, debug\n"
    "  --kvm-device PATH    KVM device node (default /dev/kvm)\n"
    "  --disk path=FILE[,readonly=on][,id=NAME][,bus=port|0]\n"
    "                       virtio-blk on a raw image (repeatable, up to 8); id is the\n"
    "                       serial the guest sees (<= 20 chars)\n"
    "  --net tap=NAME[,mac=MAC][,bus=port|0]\n"
    "                       virtio-net on a tap device (repeatable, up to 4)\n"
    "  --rng[=bus=port|0]   virtio-rng fed from the host's getrandom()\n"
    "  --device edu[,bus=port|0]\n"
    "                       QEMU-compatible edu DMA test device (1234:11e8)\n"
    "                       bus=port (default): behind its own PCIe root port;\n"
    "                       bus=0: directly on PCI bus 0\n"
    "  --device vfio=DEV[,bus=port|0][,iommu=on|off]\n"
    "                       pass a host PCI device through with VFIO (repeatable,\n"
    "                       up to 8); DEV is its address (0000:01:00.0 or 01:00.0,\n"
    "                       see lspci -D) or its /sys/bus/pci/devices/ path; bind\n"
    "                       it to vfio-pci first; needs the host IOMMU on and a\n"
    "                       memlock limit above the guest RAM (or root)\n"
    "  --iommu amd[,pgtbl=v1|v1+v2][,npcache=on|off][,intremap=on|off]\n"
    "                       emulated AMD IOMMU; every PCI device is behind it\n"
    "                       unless it says iommu=off (a key of --disk, --net,\n"
    "                       --rng, --device); pgtbl=v1+v2 (default) also offers\n"
    "                       guest (v2) page tables; npcache=on makes the guest\n"
    "                       invalidate on every map; intremap=on (default)\n"
    "                       offers interrupt remapping (x2APIC, GA IRTEs)\n"
    "  --help               show this text\n"
    "  --version            show the version\n"
    "\n"
    "Exit status: 0 guest powered off or rebooted, 1 VM error, 2 bad usage,\n"
    "3 guest kernel panic (pvpanic), 128+N when stopped by signal N.\n";

enum {
    OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_CPUS, OPT_MEMORY, OPT_HUGEPAGES,
    OPT_SERIAL, OPT_LOG_LEVEL, OPT_KVM_DEVICE, OPT_HELP, OPT_VERSION, OPT_DISK, OPT_NET,
    OPT_RNG, OPT_DEVICE, OPT_IOMMU, OPT_TOPOLOGY, OPT_APIC_IDS,
};

static const struct option cli_long_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"hugepages", no_argument, NULL, OPT_HUGEPAGES},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"kvm-device", required_argument, NULL, OPT_KVM_DEVICE},
    {"disk", required_argument, NULL, OPT_DISK},
    {"net", required_argument, NULL, OPT_NET},
    {"rng", optional_argument, NULL, OPT_RNG},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"iommu", required_argument, NULL, OPT_IOMMU},
    {"topology", required_argument, NULL, OPT_TOPOLOGY},
    {"apic-ids", required_argument, NULL, OPT_APIC_IDS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

int cli_parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -EINVAL;
    }
    if (*end == 'i' && shift) /* accept "MiB"-style "Mi" */
        end++;
    if (*end == 'B' && shift)
        end++;
    if (*end != '\0')
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

static int cli_parse_cpus(const char *s, unsigned *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < CLI_MIN_CPUS || v > CLI_MAX_CPUS) {
        snprintf(err, errlen, "--cpus %s: must be a whole number from %d to %d", s, CLI_MIN_CPUS,
                 CLI_MAX_CPUS);
        return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

static int cli_parse_memory(const char *s, uint64_t *out, char *err, size_t errlen)
{
    uint64_t v;
    if (cli_parse_size(s, &v)) {
        snprintf(err, errlen, "--memory %s: not a size; use a number with an optional K, M or G "
                 "suffix, e.g. 512M", s);
        return -EINVAL;
    }
    if (v < LAYOUT_MIN_MEMORY || v > LAYOUT_MAX_MEMORY) {
        snprintf(err, errlen, "--memory %s: must be between %lluM and %lluG", s,
                 (unsigned long long)(LAYOUT_MIN_MEMORY >> 20),
                 (unsigned long long)(LAYOUT_MAX_MEMORY >> 30));
        return -EINVAL;
    }
    if (v % (4 * LAYOUT_KiB)) {
        snprintf(err, errlen, "--memory %s: must be a multiple of 4K", s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int cli_parse_serial(const char *s, struct cli_options *o, char *err, size_t errlen)
{
    if (strcmp(s, "stdio") == 0)
        o->serial = CLI_SERIAL_STDIO;
    else if (strcmp(s, "pty") == 0)
        o->serial = CLI_SERIAL_PTY;
    else if (strcmp(s, "off") == 0)
        o->serial = CLI_SERIAL_OFF;
    else if (strncmp(s, "file=", 5) == 0 && s[5]) {
        o->serial = CLI_SERIAL_FILE;
        o->serial_path = s + 5;
    } else {
        snprintf(err, errlen, "--serial %s: use stdio, file=PATH, pty or off", s);
        return -EINVAL;
    }
    return 0;
}

static void cli_defaults(struct cli_options *o)
{
    memset(o, 0, sizeof(*o));
    o->cmdline = CLI_DEFAULT_CMDLINE;
    o->cpus = CLI_DEFAULT_CPUS;
    o->memory = CLI_DEFAULT_MEMORY;
    o->serial = CLI_SERIAL_STDIO;
    o->log_level = LOG_LEVEL_WARN;
    o->kvm_path = "/dev/kvm";
}

/* Handles one option. Returns 0 to continue, >0 for help/version, -EINVAL. */
static int cli_apply(int opt, const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    switch (opt) {
    case OPT_KERNEL: o->kernel = arg; return 0;
    case OPT_INITRD: o->initrd = arg; return 0;
    case OPT_CMDLINE: o->cmdline = arg; return 0;
    case OPT_CPUS:
        o->cpus_set = true;
        return cli_parse_cpus(arg, &o->cpus, err, errlen);
    case OPT_TOPOLOGY: return cli_parse_topology(arg, o, err, errlen);
    case OPT_APIC_IDS: return cli_parse_apic_ids(arg, o, err, errlen);
    case OPT_MEMORY: return cli_parse_memory(arg, &o->memory, err, errlen);
    case OPT_HUGEPAGES: o->hugepages = true; return 0;
    case OPT_SERIAL: return cli_parse_serial(arg, o, err, errlen);
    case OPT_KVM_DEVICE: o->kvm_path = arg; return 0;
    case OPT_LOG_LEVEL:
        if (log_parse_level(arg, &o->log_level) == 0)
            return 0;
        snprintf(err, errlen, "--log-level %s: use error, warn, info or debug", arg);
        return -EINVAL;
    case OPT_DISK: return cli_parse_disk(arg, o, err, errlen);
    case OPT_NET: return cli_parse_net(arg, o, err, errlen);
    case OPT_RNG: return cli_parse_rng(arg, o, err, errlen);
    case OPT_DEVICE: return cli_parse_device(arg, o, err, errlen);
    case OPT_IOMMU: return cli_parse_iommu(arg, o, err, errlen);
    case OPT_HELP: return CLI_HELP;
    case OPT_VERSION: return CLI_VERSION;
    default:
        return -EINVAL;
    }
}

void cli_topology_request(const struct cli_options *o, struct topology_request *req)
{
    const struct cli_topology *t = &o->topo;
    *req = (struct topology_request){.mode = t->mode, .ncpus = o->cpus};
    if (t->mode == TOPOLOGY_SMP) {
        req->sockets = t->sockets ? t->sockets : 1;
        req->threads = t->threads ? t->threads : 1;
        req->cores = t->cores ? t->cores : 1;
        req->apic_id_stride = t->apic_id_stride;
    } else if (t->mode == TOPOLOGY_LIST) {
        req->ncpus = t->nids;
        req->ids = t->apic_ids;
    }
}

/* --topology without cores= takes them from --cpus, when it divides evenly. */
static void cli_topology_derive_cores(struct cli_options *o)
{
    struct cli_topology *t = &o->topo;
    unsigned per_core_set = (t->sockets ? t->sockets : 1) * (t->threads ? t->threads : 1);
    if (t->mode == TOPOLOGY_SMP && !t->cores && o->cpus_set && o->cpus % per_core_set == 0)
        t->cores = o->cpus / per_core_set;
}

/* --cpus, when given with --topology or --apic-ids, must agree with it. */
static int cli_topology_count_matches(const struct cli_options *o, unsigned n, char *err,
                                      size_t errlen)
{
    if (!o->cpus_set || o->cpus == n)
        return 0;
    if (o->topo.mode == TOPOLOGY_LIST)
        snprintf(err, errlen, "--apic-ids lists %u IDs but --cpus is %u; give as many IDs as "
                 "vCPUs (or leave out --cpus)", n, o->cpus);
    else
        snprintf(err, errlen, "--topology makes %u vCPUs (sockets x cores x threads) but --cpus "
                 "is %u; make them agree (or leave out --cpus)", n, o->cpus);
    return -EINVAL;
}

static int cli_topology_irq_reachable(const struct cli_options *o, const struct topology *t,
                                      char *err, size_t errlen)
{
    if (!topology_needs_x2apic(t) || (o->iommu.model == CLI_IOMMU_AMD && o->iommu.intremap))
        return 0;
    snprintf(err, errlen, "APIC ID %u needs interrupt remapping: add --iommu amd (intremap=on)",
             t->max_apic_id);
    return -EINVAL;
}

int cli_check_topology(struct cli_options *o, char *err, size_t errlen)
{
    struct topology_request req;
    struct topology *t = malloc(sizeof(*t));
    int ret;
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    cli_topology_derive_cores(o);
    cli_topology_request(o, &req);
    ret = topology_compute(&req, t, err, errlen);
    if (!ret)
        ret = cli_topology_count_matches(o, t->ncpus, err, errlen);
    if (!ret)
        ret = cli_topology_irq_reachable(o, t, err, errlen);
    if (!ret)
        o->cpus = t->ncpus;
    free(t);
    return ret;
}

int cli_parse(int argc, char **argv, struct cli_options *o, char *err, size_t errlen)
{
    cli_defaults(o);
    opterr = 0;
    optind = 1;
    int opt, ret;
    while ((opt = getopt_long(argc, argv, ":", cli_long_options, NULL)) != -1) {
        if (opt == '?') {
            snprintf(err, errlen, "unknown option '%s'; see sluice --help", argv[optind - 1]);
            return -EINVAL;
        }
        if (opt == ':') {
            snprintf(err, errlen, "option '%s' needs a value; see sluice --help", argv[optind - 1]);
            return -EINVAL;
        }
        ret = cli_apply(opt, optarg, o, err, errlen);
        if (ret)
            return ret;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'; see sluice --help", argv[optind]);
        return -EINVAL;
    }
    if (!o->kernel) {
        snprintf(err, errlen, "no kernel given: use --kernel PATH (see sluice --help)");
        return -EINVAL;
    }
    if (cli_check_devices(o, err, errlen) || cli_check_topology(o, err, errlen))
        return -EINVAL;
    if (o->hugepages && o->memory % (2 * LAYOUT_MiB)) {
        snprintf(err, errlen, "--memory must be a multiple of 2M with --hugepages");
        return -EINVAL;
    }
    return CLI_RUN;
}
