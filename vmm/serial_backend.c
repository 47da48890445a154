/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "serial"
#include "vmm/serial_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

/* Raw input so keystrokes reach the guest one by one; ISIG stays on so
 * Ctrl-C still stops sluice from a terminal. */
static void serial_backend_make_raw(struct termios *t)
{
    t->c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t->c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    t->c_cflag &= ~(CSIZE | PARENB);
    t->c_cflag |= CS8;
    t->c_cc[VMIN] = 1;
    t->c_cc[VTIME] = 0;
}

static int serial_backend_open_stdio(struct serial_backend *sb)
{
    sb->in_fd = STDIN_FILENO;
    sb->out_fd = STDOUT_FILENO;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &sb->saved_termios) == 0) {
        struct termios raw = sb->saved_termios;
        serial_backend_make_raw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            sb->termios_saved = true;
    }
    return 0;
}

static int serial_backend_open_pty(struct serial_backend *sb, char *err, size_t errlen)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
        int ret = -errno;
        snprintf(err, errlen, "--serial pty: cannot create a pseudo-terminal: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return ret;
    }
    const char *name = ptsname(fd);
    snprintf(sb->pty_path, sizeof(sb->pty_path), "%s", name ? name : "?");
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        serial_backend_make_raw(&t);
        t.c_oflag &= ~OPOST;
        tcsetattr(fd, TCSANOW, &t);
    }
    sb->in_fd = sb->out_fd = fd;
    sb->own_fds = true;
    fprintf(stderr, "sluice: serial: COM1 is connected to %s\n", sb->pty_path);
    return 0;
}

int serial_backend_open(struct serial_backend *sb, enum cli_serial_mode mode, const char *path,
                        char *err, size_t errlen)
{
    memset(sb, 0, sizeof(*sb));
    sb->mode = mode;
    sb->in_fd = sb->out_fd = -1;
    switch (mode) {
    case CLI_SERIAL_STDIO:
        return serial_backend_open_stdio(sb);
    case CLI_SERIAL_PTY:
        return serial_backend_open_pty(sb, err, errlen);
    case CLI_SERIAL_FILE:
        sb->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (sb->out_fd < 0) {
            int ret = -errno;
            snprintf(err, errlen, "--serial file=%s: cannot open for writing: %s", path,
                     strerror(errno));
            return ret;
        }
        sb->own_fds = true;
        return 0;
    case CLI_SERIAL_OFF:
        return 0;
    }
    return -EINVAL;
}

void serial_backend_close(struct serial_backend *sb)
{
    if (sb->termios_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &sb->saved_termios);
    sb->termios_saved = false;
    if (sb->own_fds) {
        if (sb->in_fd >= 0)
            close(sb->in_fd);
        if (sb->out_fd >= 0 && sb->out_fd != sb->in_fd)
            close(sb->out_fd);
    }
    sb->own_fds = false;
    sb->in_fd = sb->out_fd = -1;
}
