/* SPDX-License-Identifier: MIT */
/* i8042 keyboard controller model, driven through its bus callbacks. */
#include <errno.h>
#include <stdlib.h>

#include "devices/i8042.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_vm_control.h"


static uint8_t rd_data(struct i8042 *k)
{
    uint8_t v = 0;
    i8042_data_bus_ops.read(k, 0, &v, 1);
    return v;
}

static uint8_t rd_status(struct i8042 *k)
{
    uint8_t v = 0;
    i8042_cmd_bus_ops.read(k, 0, &v, 1);
    return v;
}

static void wr_data(struct i8042 *k, uint8_t v) { i8042_data_bus_ops.write(k, 0, &v, 1); }
static void wr_cmd(struct i8042 *k, uint8_t v) { i8042_cmd_bus_ops.write(k, 0, &v, 1); }

int main(void)
{
    struct fake_ctl ctl_state = { 0 };
    struct vm_control ctl = { .request_stop = fake_request_stop, .opaque = &ctl_state };
    struct i8042 *k = NULL;
    CHECK_EQ(i8042_create(&ctl, &k), 0);
    CHECK_EQ(i8042_create(NULL, &k), -EINVAL);

    /* Never busy; nothing to read; self-test flag set. */
    uint8_t st = rd_status(k);
    CHECK_EQ(st & (I8042_STR_IBF | I8042_STR_OBF), 0);
    CHECK(st & I8042_STR_SYSFLAG);

    /* Controller self test and interface tests. */
    wr_cmd(k, I8042_CMD_CTL_TEST);
    CHECK(rd_status(k) & I8042_STR_OBF);
    CHECK(rd_status(k) & I8042_STR_CMDDAT);
    CHECK_EQ(rd_data(k), I8042_RET_CTL_TEST);
    CHECK_EQ(rd_status(k) & I8042_STR_OBF, 0);
    wr_cmd(k, I8042_CMD_KBD_TEST);
    CHECK_EQ(rd_data(k), I8042_RET_PORT_TEST_OK);
    wr_cmd(k, I8042_CMD_AUX_TEST);
    CHECK_EQ(rd_data(k), I8042_RET_PORT_TEST_OK);

    /* Configuration byte round trip and port enable/disable bits. */
    wr_cmd(k, I8042_CMD_CTL_RCTR);
    CHECK_EQ(rd_data(k), I8042_CTR_RESET);
    wr_cmd(k, I8042_CMD_CTL_WCTR);
    wr_data(k, 0x65);
    CHECK_EQ(rd_status(k) & I8042_STR_CMDDAT, 0);
    wr_cmd(k, I8042_CMD_CTL_RCTR);
    CHECK_EQ(rd_data(k), 0x65);
    wr_cmd(k, I8042_CMD_KBD_ENABLE);
    wr_cmd(k, I8042_CMD_AUX_ENABLE);
    wr_cmd(k, I8042_CMD_CTL_RCTR);
    CHECK_EQ(rd_data(k), 0x65 & ~(I8042_CTR_KBDDIS | I8042_CTR_AUXDIS));

    /* Loop-back commands. */
    wr_cmd(k, I8042_CMD_AUX_LOOP);
    wr_data(k, 0x5a);
    CHECK(rd_status(k) & I8042_STR_AUXDATA);
    CHECK_EQ(rd_data(k), 0x5a);
    CHECK_EQ(rd_status(k) & I8042_STR_AUXDATA, 0);

    /* Bytes for the absent keyboard vanish; an empty buffer repeats the last byte. */
    wr_data(k, 0xff);
    CHECK_EQ(rd_status(k) & I8042_STR_OBF, 0);
    CHECK_EQ(rd_data(k), 0x5a);

    wr_cmd(k, I8042_CMD_READ_INPORT);
    CHECK_EQ(rd_data(k), I8042_INPORT_VALUE);

    /* Output port: A20 write keeps the reset line high. */
    wr_cmd(k, I8042_CMD_READ_OUTPORT);
    CHECK_EQ(rd_data(k), I8042_OUTPORT_RESET);
    wr_cmd(k, I8042_CMD_WRITE_OUTPORT);
    wr_data(k, 0xdf);
    CHECK_EQ(ctl_state.calls, 0);
    /* Pulsing other output-port bits (0xFF, 0xFD) does not reset. */
    wr_cmd(k, 0xff);
    wr_cmd(k, 0xfd);
    /* Unknown commands are ignored. */
    wr_cmd(k, 0x99);
    /* Bad access size: all-ones, no effect. */
    uint16_t w = 0;
    i8042_cmd_bus_ops.read(k, 0, &w, 2);
    CHECK_EQ(w, 0xffff);
    w = I8042_CMD_PULSE_RESET;
    i8042_cmd_bus_ops.write(k, 0, &w, 2);
    CHECK_EQ(ctl_state.calls, 0);

    /* Linux reboot=k: wait for IBF clear, write 0xFE to the command port. */
    CHECK_EQ(rd_status(k) & I8042_STR_IBF, 0);
    wr_cmd(k, I8042_CMD_PULSE_RESET);
    CHECK_EQ(ctl_state.calls, 1);
    CHECK_EQ(ctl_state.last, VM_STOP_RESET);

    /* Writing the output port with the reset line low also resets. */
    wr_cmd(k, I8042_CMD_WRITE_OUTPORT);
    wr_data(k, 0xfe);
    CHECK_EQ(ctl_state.calls, 2);
    CHECK_EQ(ctl_state.last, VM_STOP_RESET);

    i8042_destroy(k);
    i8042_destroy(NULL);
    return check_result("test_i8042");
}
