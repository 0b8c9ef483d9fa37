/*
 * Fuzz target: the gdb stub's packet parser and command dispatch
 * (gdb/), byte stream in, against a small target of its own (two
 * threads, registers, 64 KiB of memory).  The input is fed in pieces
 * whose sizes come from the input itself, so packets split anywhere.
 * Every reply the stub sends must be well framed: '+', '-', or
 * "$payload#ck" with the right checksum and no unescaped '$' or '#'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gdb.h"

#define FUZZ_MEM 65536

static struct gdb_session *fuzz_session;
static uint8_t fuzz_mem[FUZZ_MEM];
static uint8_t fuzz_regs[2][GDB_X86_NREGS][16];
static int fuzz_slots;

static int
f_nthreads(void *arg)
{
	return 2;
}

static int
f_read_reg(void *arg, int t, int r, uint8_t *buf)
{
	if (t < 1 || t > 2 || gdb_x86_reg_size(r) == 0)
		abort(); /* the engine checks these */
	if (r >= GDB_X86_ST0 && r <= GDB_X86_MXCSR)
		return ENOENT;
	memcpy(buf, fuzz_regs[t - 1][r], (size_t)gdb_x86_reg_size(r));
	return 0;
}

static int
f_write_reg(void *arg, int t, int r, const uint8_t *buf)
{
	if (t < 1 || t > 2 || gdb_x86_reg_size(r) == 0)
		abort();
	memcpy(fuzz_regs[t - 1][r], buf, (size_t)gdb_x86_reg_size(r));
	return 0;
}

static size_t
f_mem(uint64_t addr, uint8_t *rbuf, const uint8_t *wbuf, size_t len)
{
	size_t n;

	if (addr >= FUZZ_MEM)
		return 0;
	n = FUZZ_MEM - addr < len ? FUZZ_MEM - addr : len;
	if (wbuf != NULL)
		memcpy(fuzz_mem + addr, wbuf, n);
	else if (rbuf != NULL)
		memcpy(rbuf, fuzz_mem + addr, n);
	return n;
}

static size_t
f_read_mem(void *arg, int t, bool phys, uint64_t addr, uint8_t *buf, size_t len)
{
	return f_mem(addr, buf, NULL, len);
}

static size_t
f_write_mem(void *arg, int t, bool phys, uint64_t addr, const uint8_t *buf,
	    size_t len)
{
	return f_mem(addr, NULL, buf, len);
}

/* A resume stops at once: a step on the first stepping thread. */
static int
f_resume(void *arg, const enum gdb_resume_action *actions)
{
	struct gdb_stop st = { .reason = GDB_STOP_HWBREAK,
			       .signo = GDB_SIGTRAP,
			       .thread = 1 };

	for (int i = 0; i < 2; i++)
		if (actions[i] == GDB_RESUME_STEP) {
			st.reason = GDB_STOP_STEP;
			st.thread = i + 1;
		}
	gdb_stopped(fuzz_session, &st);
	return 0;
}

static void
f_interrupt(void *arg)
{
}

static int
f_insert_bp(void *arg, enum gdb_bp_type type, uint64_t addr, int kind)
{
	if (fuzz_slots == 4)
		return ENOSPC;
	fuzz_slots++;
	return 0;
}

static int
f_remove_bp(void *arg, enum gdb_bp_type type, uint64_t addr, int kind)
{
	if (fuzz_slots == 0)
		return ENOENT;
	fuzz_slots--;
	return 0;
}

static void
f_thread_info(void *arg, int t, char *buf, size_t len)
{
	snprintf(buf, len, "vCPU %d, fuzz mode", t - 1);
}

static int
f_monitor(void *arg, const char *cmd, gdb_output_fn out, void *outarg)
{
	if (strcmp(cmd, "regs") != 0)
		return ENOENT;
	out(outarg, "rip 0\n");
	return 0;
}

static void
f_nothing(void *arg)
{
}

static const struct gdb_target_ops fuzz_ops = {
	.nthreads = f_nthreads,
	.read_reg = f_read_reg,
	.write_reg = f_write_reg,
	.read_mem = f_read_mem,
	.write_mem = f_write_mem,
	.resume = f_resume,
	.interrupt = f_interrupt,
	.insert_bp = f_insert_bp,
	.remove_bp = f_remove_bp,
	.thread_info = f_thread_info,
	.monitor = f_monitor,
	.monitor_help = "regs\n",
	.detach = f_nothing,
	.kill = f_nothing,
};

static bool
f_send(void *arg, const uint8_t *buf, size_t len)
{
	uint8_t sum = 0;
	size_t i;
	char ck[3];

	if (len == 1 && (buf[0] == '+' || buf[0] == '-'))
		return true;
	if (len < 4 || buf[0] != '$' || buf[len - 3] != '#')
		abort();
	for (i = 1; i < len - 3; i++) {
		if (buf[i] == '$' || buf[i] == '#')
			abort();
		sum += buf[i];
	}
	snprintf(ck, sizeof(ck), "%02x", sum);
	if (memcmp(ck, buf + len - 2, 2) != 0)
		abort();
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gdb_target t = { &fuzz_ops, NULL };
	struct gdb_stop st = { .reason = GDB_STOP_SIGNAL,
			       .signo = GDB_SIGTRAP,
			       .thread = 1 };
	size_t off = 0, chunk = 1;

	fuzz_slots = 0;
	fuzz_session = gdb_session_new(&t, &st, f_send, NULL);
	if (fuzz_session == NULL)
		abort();
	if (size > 0) {
		chunk = data[0] % 64 + 1;
		off = 1;
	}
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		gdb_input(fuzz_session, data + off, n);
		off += n;
	}
	gdb_exited(fuzz_session, true, 1, 0);
	gdb_session_free(fuzz_session);
	return 0;
}
