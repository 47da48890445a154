/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "i8042"
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

struct i8042 {
    pthread_mutex_t lock;
    struct vm_control ctl;
    uint8_t ctr;           /* controller configuration byte */
    uint8_t outport;       /* output port */
    uint8_t obuf;          /* output buffer (what port 0x60 reads) */
    bool obf, obf_aux;     /* output buffer full / holds aux data */
    bool last_was_cmd;     /* status CMDDAT */
    const struct i8042_cmd *pending; /* command waiting for its data byte */
};

/* ---- helpers (lock held) ------------------------------------------------- */

static void i8042_output(struct i8042 *k, uint8_t val, bool aux)
{
    k->obuf = val;
    k->obf = true;
    k->obf_aux = aux;
}

static void i8042_system_reset(struct i8042 *k, const char *how)
{
    LOG_INFO("guest requested a reboot (%s)", how);
    vm_control_stop(&k->ctl, VM_STOP_RESET);
}

static void i8042_set_outport(struct i8042 *k, uint8_t val)
{
    k->outport = val;
    if (!(val & I8042_OUTPORT_RESET_N))
        i8042_system_reset(k, "output port reset line");
}

/* ---- command table -------------------------------------------------------- */

struct i8042_cmd {
    uint8_t cmd;
    const char *name;
    void (*run)(struct i8042 *k);               /* when the command is written */
    void (*data)(struct i8042 *k, uint8_t val); /* non-NULL: takes the next data byte */
};

static void i8042_read_ctr(struct i8042 *k) { i8042_output(k, k->ctr, false); }
static void i8042_write_ctr(struct i8042 *k, uint8_t val) { k->ctr = val; }
static void i8042_aux_disable(struct i8042 *k) { k->ctr |= I8042_CTR_AUXDIS; }
static void i8042_aux_enable(struct i8042 *k) { k->ctr &= (uint8_t)~I8042_CTR_AUXDIS; }
static void i8042_kbd_disable(struct i8042 *k) { k->ctr |= I8042_CTR_KBDDIS; }
static void i8042_kbd_enable(struct i8042 *k) { k->ctr &= (uint8_t)~I8042_CTR_KBDDIS; }
static void i8042_port_test(struct i8042 *k) { i8042_output(k, I8042_RET_PORT_TEST_OK, false); }
static void i8042_read_inport(struct i8042 *k) { i8042_output(k, I8042_INPORT_VALUE, false); }
static void i8042_read_outport(struct i8042 *k) { i8042_output(k, k->outport, false); }
static void i8042_kbd_loop(struct i8042 *k, uint8_t val) { i8042_output(k, val, false); }
static void i8042_aux_loop(struct i8042 *k, uint8_t val) { i8042_output(k, val, true); }

static void i8042_self_test(struct i8042 *k)
{
    k->ctr |= I8042_CTR_SYSFLAG;
    i8042_output(k, I8042_RET_CTL_TEST, false);
}

static void i8042_aux_send(struct i8042 *k, uint8_t val)
{
    LOG_RATELIMITED(LOG_LEVEL_DEBUG, "byte 0x%02x for the absent aux device dropped", val);
}

static const struct i8042_cmd i8042_cmds[] = {
    { I8042_CMD_CTL_RCTR, "read CTR", i8042_read_ctr, NULL },
    { I8042_CMD_CTL_WCTR, "write CTR", NULL, i8042_write_ctr },
    { I8042_CMD_AUX_DISABLE, "disable aux", i8042_aux_disable, NULL },
    { I8042_CMD_AUX_ENABLE, "enable aux", i8042_aux_enable, NULL },
    { I8042_CMD_AUX_TEST, "test aux port", i8042_port_test, NULL },
    { I8042_CMD_CTL_TEST, "self test", i8042_self_test, NULL },
    { I8042_CMD_KBD_TEST, "test kbd port", i8042_port_test, NULL },
    { I8042_CMD_KBD_DISABLE, "disable kbd", i8042_kbd_disable, NULL },
    { I8042_CMD_KBD_ENABLE, "enable kbd", i8042_kbd_enable, NULL },
    { I8042_CMD_READ_INPORT, "read input port", i8042_read_inport, NULL },
    { I8042_CMD_READ_OUTPORT, "read output port", i8042_read_outport, NULL },
    { I8042_CMD_WRITE_OUTPORT, "write output port", NULL, i8042_set_outport },
    { I8042_CMD_KBD_LOOP, "kbd loop", NULL, i8042_kbd_loop },
    { I8042_CMD_AUX_LOOP, "aux loop", NULL, i8042_aux_loop },
    { I8042_CMD_AUX_SEND, "write aux", NULL, i8042_aux_send },
};

static const struct i8042_cmd *i8042_cmd_find(uint8_t cmd)
{
    for (size_t i = 0; i < sizeof(i8042_cmds) / sizeof(i8042_cmds[0]); i++)
        if (i8042_cmds[i].cmd == cmd)
            return &i8042_cmds[i];
    return NULL;
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
    k->pending = NULL;
    if (cmd >= I8042_CMD_PULSE_FIRST) {
        /* Pulse the output port bits that are 0 in the command's low nibble. */
        if (!(cmd & I8042_OUTPORT_RESET_N & I8042_CMD_PULSE_BITS))
            i8042_system_reset(k, "pulse reset line");
        return;
    }
    const struct i8042_cmd *c = i8042_cmd_find(cmd);
    if (!c) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "unsupported command 0x%02x ignored", cmd);
        return;
    }
    if (c->run)
        c->run(k);
    if (c->data)
        k->pending = c;
}

/* ---- bus callbacks ----------------------------------------------------------- */

static bool i8042_size_ok(unsigned size, uint64_t offset)
{
    if (size == 1 && offset == 0)
        return true;
    LOG_RATELIMITED(LOG_LEVEL_WARN, "bad access of size %u at offset 0x%llx", size,
                    (unsigned long long)offset);
    return false;
}

static void i8042_data_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct i8042 *k = opaque;
    memset(data, 0xff, size);
    if (!i8042_size_ok(size, offset))
        return;
    pthread_mutex_lock(&k->lock);
    *(uint8_t *)data = k->obuf; /* an empty buffer still reads its last byte */
    k->obf = false;
    k->obf_aux = false;
    pthread_mutex_unlock(&k->lock);
}

static void i8042_data_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct i8042 *k = opaque;
    if (!i8042_size_ok(size, offset))
        return;
    uint8_t val = *(const uint8_t *)data;
    pthread_mutex_lock(&k->lock);
    k->last_was_cmd = false;
    const struct i8042_cmd *c = k->pending;
    k->pending = NULL;
    if (c)
        c->data(k, val);
    else
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "byte 0x%02x for the absent keyboard dropped", val);
    pthread_mutex_unlock(&k->lock);
}

static void i8042_cmd_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct i8042 *k = opaque;
    memset(data, 0xff, size);
    if (!i8042_size_ok(size, offset))
        return;
    pthread_mutex_lock(&k->lock);
    uint8_t st = I8042_STR_KEYLOCK; /* never busy: IBF is always 0 */
    if (k->ctr & I8042_CTR_SYSFLAG)
        st |= I8042_STR_SYSFLAG;
    if (k->last_was_cmd)
        st |= I8042_STR_CMDDAT;
    if (k->obf)
        st |= I8042_STR_OBF;
    if (k->obf_aux)
        st |= I8042_STR_AUXDATA;
    *(uint8_t *)data = st;
    pthread_mutex_unlock(&k->lock);
}

static void i8042_cmd_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct i8042 *k = opaque;
    if (!i8042_size_ok(size, offset))
        return;
    pthread_mutex_lock(&k->lock);
    k->last_was_cmd = true;
    i8042_command(k, *(const uint8_t *)data);
    pthread_mutex_unlock(&k->lock);
}

const struct bus_ops i8042_data_bus_ops = { .read = i8042_data_read, .write = i8042_data_write };
const struct bus_ops i8042_cmd_bus_ops = { .read = i8042_cmd_read, .write = i8042_cmd_write };

/* ---- public API ----------------------------------------------------------------- */

int i8042_create(const struct vm_control *ctl, struct i8042 **out)
{
    if (!ctl || !out)
        return -EINVAL;
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    int ret = -pthread_mutex_init(&k->lock, NULL);
    if (ret) {
        free(k);
        return ret;
    }
    k->ctl = *ctl;
    k->ctr = I8042_CTR_RESET;
    k->outport = I8042_OUTPORT_RESET;
    *out = k;
    return 0;
}

void i8042_destroy(struct i8042 *kbc)
{
    if (!kbc)
        return;
    pthread_mutex_destroy(&kbc->lock);
    free(kbc);
}
