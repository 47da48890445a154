/* SPDX-License-Identifier: MIT */
/*
 * Host side of the COM1 console: stdio (stdin in raw mode when it is a
 * terminal, restored on close), an output file, a pty, or nothing.
 */
#ifndef SLUICE_VMM_SERIAL_BACKEND_H
#define SLUICE_VMM_SERIAL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "vmm/cli.h"

struct serial_backend {
    enum cli_serial_mode mode;
    int in_fd;              /* guest input source, -1 for none */
    int out_fd;             /* guest output sink, -1 to discard */
    bool own_fds;           /* close in/out on close (file, pty) */
    bool termios_saved;
    struct termios saved_termios;
    char pty_path[64];
};

/*
 * Open the backend. For CLI_SERIAL_FILE `path` is created/truncated. On error
 * returns -errno with one line in err; nothing is left open.
 */
int serial_backend_open(struct serial_backend *sb, enum cli_serial_mode mode, const char *path,
                        char *err, size_t errlen) __attribute__((warn_unused_result));
/* Restore the terminal and close what was opened. Safe to call twice. */
void serial_backend_close(struct serial_backend *sb);

#endif
