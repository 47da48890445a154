/* SPDX-License-Identifier: MIT */
/*
 * --disk, --net, --rng and --device: comma-separated key=value lists. Syntax and
 * uniqueness only; files and taps are opened (and their errors reported) when
 * the VM is built.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli.h"

#define CLI_KV_MAX 8

struct cli_kv {
    char key[16];
    const char *val; /* points into the caller's copy */
};

/*
 * Split `copy` (modified in place) into at most CLI_KV_MAX key=value pairs.
 * Returns the number of pairs or -EINVAL with a line naming `opt`.
 */
static int cli_kv_split(const char *opt, char *copy, struct cli_kv *kv, char *err, size_t errlen)
{
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || (size_t)(eq - tok) >= sizeof(kv[0].key) || n == CLI_KV_MAX) {
            snprintf(err, errlen, "--%s: '%s' is not key=value; see sluice --help", opt, tok);
            return -EINVAL;
        }
        memcpy(kv[n].key, tok, (size_t)(eq - tok));
        kv[n].key[eq - tok] = '\0';
        kv[n].val = eq + 1;
        for (int i = 0; i < n; i++) {
            if (strcmp(kv[i].key, kv[n].key) == 0) {
                snprintf(err, errlen, "--%s: key '%s' given twice", opt, kv[n].key);
                return -EINVAL;
            }
        }
        n++;
    }
    return n;
}

static int cli_parse_onoff(const char *opt, const char *key, const char *val, bool *out,
                           char *err, size_t errlen)
{
    if (strcmp(val, "on") == 0 || strcmp(val, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(val, "off") == 0 || strcmp(val, "false") == 0) {
        *out = false;
        return 0;
    }
    snprintf(err, errlen, "--%s: %s=%s: use on or off", opt, key, val);
    return -EINVAL;
}

static int cli_parse_bus(const char *opt, const char *val, enum cli_pci_bus *out, char *err,
                         size_t errlen)
{
    if (strcmp(val, "port") == 0) {
        *out = CLI_BUS_ROOT_PORT;
        return 0;
    }
    if (strcmp(val, "0") == 0) {
        *out = CLI_BUS_ZERO;
        return 0;
    }
    snprintf(err, errlen, "--%s: bus=%s: use bus=port (own root port) or bus=0", opt, val);
    return -EINVAL;
}

/* bus= and iommu=, common to every PCI device. Returns 0 when handled,
 * 1 when `key` is not a placement key, -EINVAL on a bad value. */
static int cli_parse_place(const char *opt, const char *key, const char *val,
                           struct cli_pci_place *place, char *err, size_t errlen)
{
    if (strcmp(key, "bus") == 0)
        return cli_parse_bus(opt, val, &place->bus, err, errlen);
    if (strcmp(key, "iommu") == 0) {
        bool on;
        if (cli_parse_onoff(opt, key, val, &on, err, errlen))
            return -EINVAL;
        place->iommu = on ? CLI_IOMMU_ON : CLI_IOMMU_OFF;
        return 0;
    }
    return 1;
}

/* Copies `val` into a buffer of `size` bytes or fails naming the limit. */
static int cli_copy_value(const char *opt, const char *key, const char *val, char *dst,
                          size_t size, char *err, size_t errlen)
{
    size_t len = strlen(val);
    if (len == 0 || len >= size) {
        snprintf(err, errlen, "--%s: %s= must be 1 to %zu characters", opt, key, size - 1);
        return -EINVAL;
    }
    memcpy(dst, val, len + 1);
    return 0;
}

static int cli_unknown_key(const char *opt, const char *key, const char *known, char *err,
                           size_t errlen)
{
    snprintf(err, errlen, "--%s: unknown key '%s' (known: %s)", opt, key, known);
    return -EINVAL;
}

/* Splits a private copy of `arg`; the caller frees *copy. */
static int cli_kv_parse(const char *opt, const char *arg, char **copy, struct cli_kv *kv,
                        char *err, size_t errlen)
{
    *copy = strdup(arg ? arg : "");
    if (!*copy) {
        snprintf(err, errlen, "--%s: out of memory", opt);
        return -ENOMEM;
    }
    return cli_kv_split(opt, *copy, kv, err, errlen);
}

static int cli_disk_apply(struct cli_disk *d, const struct cli_kv *kv, int n, char *err,
                          size_t errlen)
{
    int ret = 0;
    for (int i = 0; i < n && !ret; i++) {
        const char *k = kv[i].key, *v = kv[i].val;
        if ((ret = cli_parse_place("disk", k, v, &d->place, err, errlen)) <= 0)
            continue;
        if (strcmp(k, "path") == 0)
            ret = cli_copy_value("disk", k, v, d->path, sizeof(d->path), err, errlen);
        else if (strcmp(k, "id") == 0)
            ret = cli_copy_value("disk", k, v, d->id, sizeof(d->id), err, errlen);
        else if (strcmp(k, "readonly") == 0)
            ret = cli_parse_onoff("disk", k, v, &d->readonly, err, errlen);
        else
            ret = cli_unknown_key("disk", k, "path, readonly, id, bus, iommu", err, errlen);
    }
    return ret;
}

static int cli_disk_check_unique(const struct cli_options *o, const struct cli_disk *d,
                                 char *err, size_t errlen)
{
    for (unsigned i = 0; i < o->ndisks; i++) {
        if (strcmp(o->disks[i].id, d->id) == 0) {
            snprintf(err, errlen, "--disk: id '%s' is used twice; give each disk its own id=",
                     d->id);
            return -EINVAL;
        }
        if (strcmp(o->disks[i].path, d->path) == 0) {
            snprintf(err, errlen, "--disk: %s is given twice; one image can back one disk",
                     d->path);
            return -EINVAL;
        }
    }
    return 0;
}

int cli_parse_disk(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    if (o->ndisks == CLI_MAX_DISKS) {
        snprintf(err, errlen, "--disk: at most %d disks", CLI_MAX_DISKS);
        return -EINVAL;
    }
    struct cli_kv kv[CLI_KV_MAX];
    char *copy;
    int n = cli_kv_parse("disk", arg, &copy, kv, err, errlen);
    struct cli_disk d = {0};
    int ret = n < 0 ? n : cli_disk_apply(&d, kv, n, err, errlen);
    free(copy);
    if (ret)
        return -EINVAL;
    if (!d.path[0]) {
        snprintf(err, errlen, "--disk: path=FILE is required (e.g. --disk path=rootfs.img)");
        return -EINVAL;
    }
    if (!d.id[0]) {
        /* default ids never collide with each other; an explicit one may */
        for (unsigned i = o->ndisks;; i++) {
            snprintf(d.id, sizeof(d.id), "disk%u", i);
            bool taken = false;
            for (unsigned j = 0; j < o->ndisks; j++)
                taken |= strcmp(o->disks[j].id, d.id) == 0;
            if (!taken)
                break;
        }
    }
    if (cli_disk_check_unique(o, &d, err, errlen))
        return -EINVAL;
    o->disks[o->ndisks++] = d;
    return 0;
}

/* "52:54:00:12:34:56" -> 6 bytes; unicast only. */
static int cli_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned b[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &tail) != 6 ||
        strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return (mac[0] & 1) ? -EINVAL : 0;
}

static int cli_net_apply(struct cli_net *nd, const struct cli_kv *kv, int n, char *err,
                         size_t errlen)
{
    int ret = 0;
    for (int i = 0; i < n && !ret; i++) {
        const char *k = kv[i].key, *v = kv[i].val;
        if ((ret = cli_parse_place("net", k, v, &nd->place, err, errlen)) <= 0)
            continue;
        if (strcmp(k, "tap") == 0) {
            ret = cli_copy_value("net", k, v, nd->tap, sizeof(nd->tap), err, errlen);
        } else if (strcmp(k, "mac") == 0) {
            ret = cli_parse_mac(v, nd->mac);
            if (ret)
                snprintf(err, errlen, "--net: mac=%s: use a unicast address like 52:54:00:12:34:56",
                         v);
            nd->mac_set = true;
        } else {
            ret = cli_unknown_key("net", k, "tap, mac, bus, iommu", err, errlen);
        }
    }
    return ret;
}

int cli_parse_net(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    if (o->nnets == CLI_MAX_NETS) {
        snprintf(err, errlen, "--net: at most %d network devices", CLI_MAX_NETS);
        return -EINVAL;
    }
    struct cli_kv kv[CLI_KV_MAX];
    char *copy;
    int n = cli_kv_parse("net", arg, &copy, kv, err, errlen);
    struct cli_net nd = {0};
    int ret = n < 0 ? n : cli_net_apply(&nd, kv, n, err, errlen);
    free(copy);
    if (ret)
        return -EINVAL;
    if (!nd.tap[0]) {
        snprintf(err, errlen, "--net: tap=NAME is required (e.g. --net tap=tap0)");
        return -EINVAL;
    }
    for (unsigned i = 0; i < o->nnets; i++) {
        if (strcmp(o->nets[i].tap, nd.tap) == 0) {
            snprintf(err, errlen, "--net: tap %s is given twice", nd.tap);
            return -EINVAL;
        }
        if (nd.mac_set && o->nets[i].mac_set && memcmp(o->nets[i].mac, nd.mac, 6) == 0) {
            snprintf(err, errlen, "--net: two devices with the same mac");
            return -EINVAL;
        }
    }
    o->nets[o->nnets++] = nd;
    return 0;
}

/* Options made only of placement keys (--rng, --device edu). */
static int cli_parse_place_only(const char *opt, const char *arg, struct cli_pci_place *place,
                                char *err, size_t errlen)
{
    struct cli_kv kv[CLI_KV_MAX];
    char *copy;
    int n = cli_kv_parse(opt, arg, &copy, kv, err, errlen);
    int ret = n < 0 ? n : 0;
    for (int i = 0; i < n && !ret; i++) {
        ret = cli_parse_place(opt, kv[i].key, kv[i].val, place, err, errlen);
        if (ret > 0)
            ret = cli_unknown_key(opt, kv[i].key, "bus, iommu", err, errlen);
    }
    free(copy);
    return ret ? -EINVAL : 0;
}

int cli_parse_rng(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    if (o->rng) {
        snprintf(err, errlen, "--rng: given twice; one virtio-rng is enough");
        return -EINVAL;
    }
    if (cli_parse_place_only("rng", arg, &o->rng_place, err, errlen))
        return -EINVAL;
    o->rng = true;
    return 0;
}

/* Does s match `tmpl` ('h' a hex digit, 'f' a function 0-7, else itself)? */
static bool cli_matches(const char *s, const char *tmpl)
{
    for (; *tmpl; s++, tmpl++) {
        if (*tmpl == 'h' ? !isxdigit((unsigned char)*s)
            : *tmpl == 'f' ? (*s < '0' || *s > '7') : *s != *tmpl)
            return false;
    }
    return *s == '\0';
}

/* A PCI address "DDDD:BB:DD.F" / "BB:DD.F" into canonical lower-case
 * "DDDD:BB:DD.F", or an absolute path kept as given. */
static int cli_vfio_spec(const char *spec, char *out, size_t outlen, char *err, size_t errlen)
{
    unsigned dom = 0, bus, dev, fn;
    if (spec[0] == '/')
        return cli_copy_value("device vfio", "vfio", spec, out, outlen, err, errlen);
    bool full = cli_matches(spec, "hhhh:hh:hh.f");
    if ((full && sscanf(spec, "%x:%x:%x.%u", &dom, &bus, &dev, &fn) == 4 && dev < 32) ||
        (cli_matches(spec, "hh:hh.f") && sscanf(spec, "%x:%x.%u", &bus, &dev, &fn) == 3 &&
         dev < 32)) {
        snprintf(out, outlen, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
        return 0;
    }
    snprintf(err, errlen, "--device vfio=%s: not a PCI address (DDDD:BB:DD.F or BB:DD.F, as "
             "lspci -D shows) or an absolute sysfs path (/sys/bus/pci/devices/...)", spec);
    return -EINVAL;
}

/* --device vfio=SPEC[,bus=...][,iommu=...] */
static int cli_parse_vfio(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    if (o->nvfio == CLI_MAX_VFIO) {
        snprintf(err, errlen, "--device vfio: at most %d passthrough devices", CLI_MAX_VFIO);
        return -EINVAL;
    }
    const char *comma = strchr(arg, ',');
    size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
    struct cli_vfio *v = &o->vfio[o->nvfio];
    char spec[CLI_PATH_MAX];
    *v = (struct cli_vfio){0};
    if (len >= sizeof(spec)) {
        snprintf(err, errlen, "--device vfio=: the device path is longer than %d characters",
                 CLI_PATH_MAX - 1);
        return -EINVAL;
    }
    memcpy(spec, arg, len);
    spec[len] = '\0';
    if (!spec[0]) {
        snprintf(err, errlen, "--device vfio=: give a host PCI device, e.g. vfio=0000:01:00.0");
        return -EINVAL;
    }
    if (cli_vfio_spec(spec, v->spec, sizeof(v->spec), err, errlen) ||
        cli_parse_place_only("device", comma ? comma + 1 : "", &v->place, err, errlen))
        return -EINVAL;
    for (unsigned i = 0; i < o->nvfio; i++) {
        if (strcmp(o->vfio[i].spec, v->spec) == 0) {
            snprintf(err, errlen, "--device vfio=%s: given twice; a host device can be passed "
                     "through once", v->spec);
            return -EINVAL;
        }
    }
    o->nvfio++;
    return 0;
}

/* --device edu[,bus=...][,iommu=...] or vfio=SPEC[,...]: the first word
 * names the model. */
int cli_parse_device(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    if (strncmp(arg, "vfio=", 5) == 0)
        return cli_parse_vfio(arg + 5, o, err, errlen);
    const char *comma = strchr(arg, ',');
    size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
    if (len == 4 && strncmp(arg, "vfio", 4) == 0) {
        snprintf(err, errlen, "--device vfio: name the host device: vfio=0000:01:00.0");
        return -EINVAL;
    }
    if (len != 3 || strncmp(arg, "edu", 3) != 0) {
        snprintf(err, errlen, "--device %.*s: unknown device (known: edu, vfio=BDF)", (int)len,
                 arg);
        return -EINVAL;
    }
    if (o->edu) {
        snprintf(err, errlen, "--device edu: given twice; one edu device is supported");
        return -EINVAL;
    }
    if (cli_parse_place_only("device", comma ? comma + 1 : "", &o->edu_place, err, errlen))
        return -EINVAL;
    o->edu = true;
    return 0;
}

int cli_parse_iommu(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    const char *comma = strchr(arg, ',');
    size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
    if (len != 3 || strncmp(arg, "amd", 3) != 0) {
        snprintf(err, errlen, "--iommu %.*s: unknown IOMMU model (known: amd)", (int)len, arg);
        return -EINVAL;
    }
    struct cli_iommu io = {.model = CLI_IOMMU_AMD, .guest_tables = true, .intremap = true};
    struct cli_kv kv[CLI_KV_MAX];
    char *copy;
    int n = cli_kv_parse("iommu", comma ? comma + 1 : "", &copy, kv, err, errlen);
    int ret = n < 0 ? n : 0;
    for (int i = 0; i < n && !ret; i++) {
        const char *k = kv[i].key, *v = kv[i].val;
        if (strcmp(k, "npcache") == 0) {
            ret = cli_parse_onoff("iommu", k, v, &io.npcache, err, errlen);
        } else if (strcmp(k, "intremap") == 0) {
            ret = cli_parse_onoff("iommu", k, v, &io.intremap, err, errlen);
        } else if (strcmp(k, "pgtbl") == 0) {
            if (strcmp(v, "v1") == 0 || strcmp(v, "v1+v2") == 0) {
                io.guest_tables = v[2] == '+';
            } else {
                snprintf(err, errlen, "--iommu: pgtbl=%s: use v1 (host tables only) or v1+v2", v);
                ret = -EINVAL;
            }
        } else {
            ret = cli_unknown_key("iommu", k, "pgtbl, npcache, intremap", err, errlen);
        }
    }
    free(copy);
    if (ret)
        return -EINVAL;
    o->iommu = io;
    return 0;
}

bool cli_behind_iommu(const struct cli_options *o, const struct cli_pci_place *p)
{
    return o->iommu.model != CLI_IOMMU_NONE && p->iommu != CLI_IOMMU_OFF;
}

int cli_check_devices(const struct cli_options *o, char *err, size_t errlen)
{
    if (o->iommu.model != CLI_IOMMU_NONE)
        return 0;
    bool asked = o->rng_place.iommu == CLI_IOMMU_ON || o->edu_place.iommu == CLI_IOMMU_ON;
    for (unsigned i = 0; i < o->ndisks; i++)
        asked |= o->disks[i].place.iommu == CLI_IOMMU_ON;
    for (unsigned i = 0; i < o->nnets; i++)
        asked |= o->nets[i].place.iommu == CLI_IOMMU_ON;
    for (unsigned i = 0; i < o->nvfio; i++)
        asked |= o->vfio[i].place.iommu == CLI_IOMMU_ON;
    if (!asked)
        return 0;
    snprintf(err, errlen, "a device asks for iommu=on but there is no IOMMU: add --iommu amd");
    return -EINVAL;
}

/* A whole decimal number in [min, max]. */
static int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* One --topology count: sockets, cores or threads, 1..CLI_MAX_CPUS. */
static int cli_topology_count(const char *k, const char *v, unsigned *out, char *err, size_t errlen)
{
    uint64_t n;
    if (cli_parse_u64(v, 1, CLI_MAX_CPUS, &n)) {
        snprintf(err, errlen, "--topology: %s=%s: must be a whole number from 1 to %d", k, v,
                 CLI_MAX_CPUS);
        return -EINVAL;
    }
    *out = (unsigned)n;
    return 0;
}

/* Only one of --topology and --apic-ids, once. */
static int cli_topology_once(const char *opt, const struct cli_topology *t, char *err,
                             size_t errlen)
{
    if (t->mode == TOPOLOGY_DENSE)
        return 0;
    snprintf(err, errlen, "--%s: the vCPU topology is already given (use one --topology or one "
             "--apic-ids)", opt);
    return -EINVAL;
}

/* --topology sockets=S,cores=C,threads=T[,apic-id-stride=N] */
int cli_parse_topology(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    struct cli_topology *t = &o->topo;
    if (cli_topology_once("topology", t, err, errlen))
        return -EINVAL;
    struct cli_kv kv[CLI_KV_MAX];
    char *copy;
    int n = cli_kv_parse("topology", arg, &copy, kv, err, errlen);
    int ret = n < 0 ? n : 0;
    t->sockets = t->cores = t->threads = 0;
    t->apic_id_stride = 0;
    for (int i = 0; i < n && !ret; i++) {
        const char *k = kv[i].key, *v = kv[i].val;
        if (strcmp(k, "sockets") == 0) {
            ret = cli_topology_count(k, v, &t->sockets, err, errlen);
        } else if (strcmp(k, "cores") == 0) {
            ret = cli_topology_count(k, v, &t->cores, err, errlen);
        } else if (strcmp(k, "threads") == 0) {
            ret = cli_topology_count(k, v, &t->threads, err, errlen);
        } else if (strcmp(k, "apic-id-stride") == 0) {
            if (cli_parse_u64(v, 1, 1ull << 32, &t->apic_id_stride)) {
                snprintf(err, errlen, "--topology: apic-id-stride=%s: must be a power of two "
                         "from 1 to 2^32", v);
                ret = -EINVAL;
            }
        } else {
            ret = cli_unknown_key("topology", k, "sockets, cores, threads, apic-id-stride", err,
                                  errlen);
        }
    }
    free(copy);
    if (ret)
        return -EINVAL;
    t->mode = TOPOLOGY_SMP;
    return 0;
}

/* --apic-ids 0,1,2,300: vCPU i gets the i-th ID. */
int cli_parse_apic_ids(const char *arg, struct cli_options *o, char *err, size_t errlen)
{
    struct cli_topology *t = &o->topo;
    if (cli_topology_once("apic-ids", t, err, errlen))
        return -EINVAL;
    char *copy = strdup(arg);
    int ret = 0;
    if (!copy) {
        snprintf(err, errlen, "--apic-ids: out of memory");
        return -ENOMEM;
    }
    t->nids = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
        uint64_t id;
        if (t->nids == CLI_MAX_CPUS) {
            snprintf(err, errlen, "--apic-ids: more than %d IDs", CLI_MAX_CPUS);
            ret = -EINVAL;
        } else if (cli_parse_u64(tok, 0, TOPOLOGY_MAX_APIC_ID, &id)) {
            snprintf(err, errlen, "--apic-ids: '%s' is not an APIC ID (0 to %u)", tok,
                     TOPOLOGY_MAX_APIC_ID);
            ret = -EINVAL;
        } else {
            t->apic_ids[t->nids++] = (uint32_t)id;
        }
    }
    free(copy);
    if (!ret && t->nids == 0) {
        snprintf(err, errlen, "--apic-ids: give a comma-separated list of IDs, e.g. 0,1,2,300");
        ret = -EINVAL;
    }
    if (ret)
        return -EINVAL;
    t->mode = TOPOLOGY_LIST;
    return 0;
}
