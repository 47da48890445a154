/* SPDX-License-Identifier: MIT */
/*
 * sluice: boot a Linux kernel in a KVM microVM.
 * main() parses the command line, checks the input files, builds the VM,
 * runs it and maps the outcome to the exit status documented in --help.
 */
#define LOG_MODULE "sluice"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/vm_control.h"
#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) == 0)
        return 0;
    int ret = -errno;
    snprintf(err, errlen, "%s %s: %s", what, path,
             ret == -ENOENT ? "no such file" : strerror(-ret));
    return ret;
}

/* Disk images must exist and be readable (and writable unless read-only)
 * before anything is built; locks and io_uring are checked when opened. */
static int check_disks(const struct cli_options *o, char *err, size_t errlen)
{
    for (unsigned i = 0; i < o->ndisks; i++) {
        const struct cli_disk *d = &o->disks[i];
        if (access(d->path, d->readonly ? R_OK : R_OK | W_OK) == 0)
            continue;
        int ret = -errno;
        snprintf(err, errlen, "--disk %s: %s%s", d->path,
                 ret == -ENOENT ? "no such file" : strerror(-ret),
                 ret == -EACCES && !d->readonly ? " (add readonly=on to share it read-only)" : "");
        return ret;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct timespec start; /* the boot timer counts from here */
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct cli_options opts;
    char err[512] = "";
    bool user_error = false;

    int ret = cli_parse(argc, argv, &opts, err, sizeof(err));
    if (ret == CLI_HELP) {
        fputs(cli_usage, stdout);
        return SLUICE_EXIT_OK;
    }
    if (ret == CLI_VERSION) {
        printf("sluice %s\n", SLUICE_VERSION);
        return SLUICE_EXIT_OK;
    }
    if (ret < 0)
        goto usage_error;
    log_set_level(opts.log_level);

    if (check_readable("--kernel", opts.kernel, err, sizeof(err)) ||
        (opts.initrd && check_readable("--initrd", opts.initrd, err, sizeof(err))) ||
        check_disks(&opts, err, sizeof(err)))
        goto usage_error;

    static struct vm vm; /* large; keep it off the stack */
    ret = vm_create(&vm, &opts, &start, &user_error, err, sizeof(err));
    if (ret) {
        vm_destroy(&vm);
        if (user_error)
            goto usage_error;
        fprintf(stderr, "sluice: error: %s\n", err);
        return SLUICE_EXIT_ERROR;
    }
    int status = vm_run(&vm);
    vm_destroy(&vm);
    return status;

usage_error:
    fprintf(stderr, "sluice: %s\n", err);
    return SLUICE_EXIT_USAGE;
}
