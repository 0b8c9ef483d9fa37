/*
 * The commands of the stub, one handler each, found through a table of
 * packet prefixes (bhyve's gdb.c dispatches with a switch; a table keeps
 * each packet's handling in one place and the unknown ones in none:
 * they get the empty reply, which tells gdb "not supported").
 *
 * Threads are the target's vCPUs, 1..n.  The stub is all-stop: a
 * resume runs the target until one thread stops, and every thread is
 * stopped while the debugger looks at memory and registers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdb_int.h"

/* ---- building replies ------------------------------------------------ */

static void
reply_mem(struct gdb_session *s, const void *p, size_t n)
{
	if (s->rlen + n > sizeof(s->reply)) {
		s->rfull = true;
		return;
	}
	memcpy(s->reply + s->rlen, p, n);
	s->rlen += n;
}

static void
reply_str(struct gdb_session *s, const char *str)
{
	reply_mem(s, str, strlen(str));
}

static void __attribute__((format(printf, 2, 3)))
reply_fmt(struct gdb_session *s, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	reply_mem(s, buf, n < 0 ? 0 : (size_t)n >= sizeof(buf) ? 0 : (size_t)n);
}

static void
reply_hex(struct gdb_session *s, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		char two[2] = { hex[p[i] >> 4], hex[p[i] & 15] };

		reply_mem(s, two, 2);
	}
}

static void
reply_error(struct gdb_session *s, int error)
{
	reply_fmt(s, "E%02x", error & 0xff);
}

/* ---- parsing --------------------------------------------------------- */

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number of 1-16 digits at *pp; advances *pp.  false if none. */
static bool
parse_hex(const char **pp, uint64_t *val)
{
	const char *p = *pp;
	uint64_t v = 0;
	int n = 0, d;

	while ((d = hexdigit(*p)) >= 0) {
		if (++n > 16)
			return false;
		v = v << 4 | (uint64_t)d;
		p++;
	}
	if (n == 0)
		return false;
	*pp = p;
	*val = v;
	return true;
}

/* A thread id: hex, "0" (any) or "-1" (all). */
static bool
parse_thread(const char **pp, int *thread)
{
	uint64_t v;

	if ((*pp)[0] == '-' && (*pp)[1] == '1') {
		*pp += 2;
		*thread = -1;
		return true;
	}
	if (!parse_hex(pp, &v) || v > 0x7fffffff)
		return false;
	*thread = (int)v;
	return true;
}

/* Hex text into bytes; false on a bad digit or a length mismatch. */
static bool
unhex(const char *p, size_t nhex, uint8_t *out, size_t n)
{
	if (nhex != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexdigit(p[2 * i]), lo = hexdigit(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int
nthreads(struct gdb_session *s)
{
	int n = s->target.ops->nthreads(s->target.arg);

	return n < 0 ? 0 : n;
}

static bool
thread_valid(struct gdb_session *s, int t)
{
	return t >= 1 && t <= nthreads(s);
}

/* The thread 'g', 'm' and friends work on (Hg; "any" is the stopped). */
static int
gen_thread(struct gdb_session *s)
{
	return thread_valid(s, s->gthread) ? s->gthread : s->last.thread;
}

/* ---- stop replies ---------------------------------------------------- */

static void
reply_stop(struct gdb_session *s, const struct gdb_stop *st)
{
	reply_fmt(s, "T%02xthread:%x;", st->signo & 0xff, st->thread);
	switch (st->reason) {
	case GDB_STOP_SWBREAK:
		reply_str(s, "swbreak:;");
		break;
	case GDB_STOP_HWBREAK:
		reply_str(s, "hwbreak:;");
		break;
	case GDB_STOP_WATCH:
		reply_fmt(s, "watch:%llx;", (unsigned long long)st->addr);
		break;
	case GDB_STOP_RWATCH:
		reply_fmt(s, "rwatch:%llx;", (unsigned long long)st->addr);
		break;
	case GDB_STOP_AWATCH:
		reply_fmt(s, "awatch:%llx;", (unsigned long long)st->addr);
		break;
	default:
		break;
	}
	if (st->replay_begin)
		reply_str(s, "replaylog:begin;");
}

/* ---- the commands ---------------------------------------------------- */

static bool
can_reverse(struct gdb_session *s)
{
	return s->target.ops->reverse != NULL &&
	       s->target.ops->can_reverse != NULL &&
	       s->target.ops->can_reverse(s->target.arg);
}

static void
cmd_supported(struct gdb_session *s, const char *arg)
{
	reply_fmt(s,
		  "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
		  "vContSupported+;QStartNoAckMode+",
		  GDB_PACKET_MAX);
	if (can_reverse(s))
		reply_str(s, ";ReverseStep+;ReverseContinue+");
}

static void
cmd_noack(struct gdb_session *s, const char *arg)
{
	reply_str(s, "OK");
	gdb_send_reply(s); /* still acked: gdb acks it, then neither does */
	s->noack = true;
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void
cmd_features(struct gdb_session *s, const char *arg)
{
	const char *xml = gdb_x86_target_xml();
	size_t xlen = strlen(xml);
	uint64_t off, len;

	if (strncmp(arg, "target.xml:", 11) != 0) {
		reply_str(s, "E00"); /* the only annex there is */
		return;
	}
	arg += 11;
	if (!parse_hex(&arg, &off) || *arg++ != ',' || !parse_hex(&arg, &len) ||
	    *arg != '\0') {
		reply_error(s, EINVAL);
		return;
	}
	if (len > GDB_PACKET_MAX / 2)
		len = GDB_PACKET_MAX / 2;
	if (off >= xlen) {
		reply_str(s, "l");
		return;
	}
	if (len >= xlen - off) {
		reply_str(s, "l");
		len = xlen - off;
	} else {
		reply_str(s, "m");
	}
	reply_mem(s, xml + off, len);
}

static void
cmd_status(struct gdb_session *s, const char *arg)
{
	reply_stop(s, &s->last);
}

static void
cmd_current_thread(struct gdb_session *s, const char *arg)
{
	reply_fmt(s, "QC%x", gen_thread(s));
}

static void
cmd_thread_first(struct gdb_session *s, const char *arg)
{
	int n = nthreads(s);

	reply_str(s, "m");
	for (int t = 1; t <= n; t++)
		reply_fmt(s, t == 1 ? "%x" : ",%x", t);
}

static void
cmd_thread_next(struct gdb_session *s, const char *arg)
{
	reply_str(s, "l");
}

static void
cmd_attached(struct gdb_session *s, const char *arg)
{
	/* An existing machine: gdb detaches from it on quit, never kills. */
	reply_str(s, "1");
}

static void
cmd_thread_extra(struct gdb_session *s, const char *arg)
{
	char buf[128] = "";
	int t;

	if (!parse_thread(&arg, &t) || *arg != '\0' || !thread_valid(s, t)) {
		reply_error(s, EINVAL);
		return;
	}
	if (s->target.ops->thread_info != NULL)
		s->target.ops->thread_info(s->target.arg, t, buf, sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	reply_hex(s, (const uint8_t *)buf, strlen(buf));
}

/* qRcmd output: one "O" packet per piece, hex-encoded. */
static void
monitor_out(void *arg, const char *text)
{
	struct gdb_session *s = arg;
	size_t len = strlen(text), off = 0;
	char buf[1 + 2 * 512];
	static const char hex[] = "0123456789abcdef";

	while (off < len) {
		size_t n = len - off > 512 ? 512 : len - off, w = 0;

		buf[w++] = 'O';
		for (size_t i = 0; i < n; i++) {
			uint8_t c = (uint8_t)text[off + i];

			buf[w++] = hex[c >> 4];
			buf[w++] = hex[c & 15];
		}
		gdb_send_packet(s, buf, w);
		off += n;
	}
}

static const char gdb_monitor_help[] =
    "help          this list\n"
    "phys [on|off] m/M/X addresses are guest-physical (on) or virtual "
    "through the selected vCPU's page tables (off, the default)\n";

static void
cmd_rcmd(struct gdb_session *s, const char *arg)
{
	size_t nhex = strlen(arg);
	char cmd[256], line[300];
	int error;

	if (nhex % 2 != 0 || nhex / 2 >= sizeof(cmd) ||
	    !unhex(arg, nhex, (uint8_t *)cmd, nhex / 2)) {
		reply_error(s, EINVAL);
		return;
	}
	cmd[nhex / 2] = '\0';
	if (memchr(cmd, '\0', nhex / 2) != NULL) {
		reply_error(s, EINVAL);
		return;
	}
	if (strcmp(cmd, "help") == 0) {
		monitor_out(s, gdb_monitor_help);
		if (s->target.ops->monitor_help != NULL)
			monitor_out(s, s->target.ops->monitor_help);
	} else if (strcmp(cmd, "phys on") == 0 ||
		   strcmp(cmd, "phys off") == 0) {
		s->phys = cmd[6] == 'n';
		monitor_out(s, s->phys ? "memory accesses are guest-physical\n"
				       : "memory accesses are virtual\n");
	} else if (strcmp(cmd, "phys") == 0) {
		monitor_out(s, s->phys ? "phys on\n" : "phys off\n");
	} else {
		error = s->target.ops->monitor == NULL
			    ? ENOENT
			    : s->target.ops->monitor(s->target.arg, cmd,
						     monitor_out, s);
		if (error == ENOENT) {
			snprintf(line, sizeof(line),
				 "unknown monitor command '%.200s' (try "
				 "'monitor help')\n",
				 cmd);
			monitor_out(s, line);
		}
	}
	reply_str(s, "OK");
}

/* Hg/Hc THREAD */
static void
cmd_set_thread(struct gdb_session *s, const char *arg)
{
	char which = *arg++;
	int t;

	if ((which != 'g' && which != 'c') || !parse_thread(&arg, &t) ||
	    *arg != '\0' || (t > 0 && !thread_valid(s, t))) {
		reply_error(s, EINVAL);
		return;
	}
	if (which == 'g')
		s->gthread = t;
	else
		s->cthread = t;
	reply_str(s, "OK");
}

static void
cmd_thread_alive(struct gdb_session *s, const char *arg)
{
	int t;

	if (!parse_thread(&arg, &t) || *arg != '\0' || !thread_valid(s, t))
		reply_error(s, ESRCH);
	else
		reply_str(s, "OK");
}

static void
reply_reg(struct gdb_session *s, int t, int regno)
{
	uint8_t buf[16];
	int size = gdb_x86_reg_size(regno);

	if (s->target.ops->read_reg(s->target.arg, t, regno, buf) == 0) {
		reply_hex(s, buf, (size_t)size);
	} else {
		/* "xx" per byte: gdb shows <unavailable> */
		for (int i = 0; i < size; i++)
			reply_str(s, "xx");
	}
}

static void
cmd_read_regs(struct gdb_session *s, const char *arg)
{
	int t = gen_thread(s);

	for (int r = 0; r < GDB_X86_NREGS; r++)
		reply_reg(s, t, r);
}

static void
cmd_write_regs(struct gdb_session *s, const char *arg)
{
	size_t len = strlen(arg), off = 0;
	int t = gen_thread(s), error = 0, e;
	uint8_t buf[16];

	for (int r = 0; r < GDB_X86_NREGS && off < len; r++) {
		size_t n = (size_t)gdb_x86_reg_size(r);

		if (len - off < 2 * n)
			break;
		/* "xx" (a register gdb has no value for) is left alone. */
		if (unhex(arg + off, 2 * n, buf, n) &&
		    (e = s->target.ops->write_reg(s->target.arg, t, r, buf)) ==
			EPERM)
			error = e; /* refused (a replay): say so */
		off += 2 * n;
	}
	if (off != len)
		error = EINVAL;
	if (error != 0)
		reply_error(s, error);
	else
		reply_str(s, "OK");
}

static void
cmd_read_reg(struct gdb_session *s, const char *arg)
{
	uint64_t r;

	if (!parse_hex(&arg, &r) || *arg != '\0' || r >= GDB_X86_NREGS) {
		reply_error(s, EINVAL);
		return;
	}
	reply_reg(s, gen_thread(s), (int)r);
}

static void
cmd_write_reg(struct gdb_session *s, const char *arg)
{
	uint8_t buf[16];
	uint64_t r;
	int error;

	if (!parse_hex(&arg, &r) || *arg++ != '=' || r >= GDB_X86_NREGS ||
	    !unhex(arg, strlen(arg), buf, (size_t)gdb_x86_reg_size((int)r))) {
		reply_error(s, EINVAL);
		return;
	}
	error =
	    s->target.ops->write_reg(s->target.arg, gen_thread(s), (int)r, buf);
	if (error != 0)
		reply_error(s, error);
	else
		reply_str(s, "OK");
}

/* "ADDR,LENGTH" then 'end' */
static bool
parse_addr_len(const char **pp, uint64_t *addr, uint64_t *len, char end)
{
	return parse_hex(pp, addr) && *(*pp)++ == ',' && parse_hex(pp, len) &&
	       *(*pp)++ == end;
}

static void
cmd_read_mem(struct gdb_session *s, const char *arg)
{
	uint8_t buf[GDB_PACKET_MAX / 2];
	uint64_t addr, len;
	size_t n;

	if (!parse_addr_len(&arg, &addr, &len, '\0')) {
		reply_error(s, EINVAL);
		return;
	}
	if (len > sizeof(buf))
		len = sizeof(buf); /* gdb asks for the rest again */
	n = s->target.ops->read_mem(s->target.arg, gen_thread(s), s->phys, addr,
				    buf, len);
	if (n == 0 && len > 0)
		reply_error(s, EFAULT);
	else
		reply_hex(s, buf, n);
}

static void
write_mem(struct gdb_session *s, uint64_t addr, const uint8_t *buf, size_t len)
{
	size_t n = len == 0
		       ? 0
		       : s->target.ops->write_mem(s->target.arg, gen_thread(s),
						  s->phys, addr, buf, len);

	if (n != len)
		reply_error(s, EFAULT);
	else
		reply_str(s, "OK");
}

/* M ADDR,LENGTH:HEX */
static void
cmd_write_mem(struct gdb_session *s, const char *arg)
{
	uint8_t buf[GDB_PACKET_MAX / 2];
	uint64_t addr, len;

	if (!parse_addr_len(&arg, &addr, &len, ':') || len > sizeof(buf) ||
	    !unhex(arg, strlen(arg), buf, len)) {
		reply_error(s, EINVAL);
		return;
	}
	write_mem(s, addr, buf, len);
}

/* X ADDR,LENGTH:BINARY (already unescaped by the receiver) */
static void
cmd_write_bin(struct gdb_session *s, const char *arg)
{
	const char *start = arg;
	uint64_t addr, len;
	size_t have;

	if (!parse_addr_len(&arg, &addr, &len, ':')) {
		reply_error(s, EINVAL);
		return;
	}
	/* The payload may hold NULs: its length is the packet's. */
	have = s->len - 1 - (size_t)(arg - start);
	if (len != have) {
		reply_error(s, EINVAL);
		return;
	}
	write_mem(s, addr, (const uint8_t *)arg, len);
}

/* Resume with actions[] (one per thread); the stop reply comes later. */
static void
resume(struct gdb_session *s, const enum gdb_resume_action *actions)
{
	int error;

	s->running = true;
	error = s->target.ops->resume(s->target.arg, actions);
	if (error != 0 && s->running) {
		s->running = false;
		reply_error(s, error);
	}
}

/*
 * c/s/C/S [SIG;][ADDR]: the signal means nothing to a VM; an address
 * moves the thread's rip first.
 */
static void
resume_legacy(struct gdb_session *s, const char *arg, bool step, bool sig)
{
	enum gdb_resume_action actions[256];
	int n = nthreads(s), t;
	uint64_t v;
	uint8_t rip[8];

	if (n > 256)
		n = 256;
	if (sig) {
		if (!parse_hex(&arg, &v)) {
			reply_error(s, EINVAL);
			return;
		}
		if (*arg == ';')
			arg++;
	}
	t = thread_valid(s, s->cthread) ? s->cthread : s->last.thread;
	if (*arg != '\0') {
		if (!parse_hex(&arg, &v) || *arg != '\0') {
			reply_error(s, EINVAL);
			return;
		}
		for (int i = 0; i < 8; i++)
			rip[i] = (uint8_t)(v >> (8 * i));
		s->target.ops->write_reg(s->target.arg, t, GDB_X86_RIP, rip);
	}
	/* s steps one thread, the others wait; c runs them all. */
	for (int i = 0; i < n; i++)
		actions[i] = step ? GDB_RESUME_NONE : GDB_RESUME_CONT;
	if (step)
		actions[t - 1] = GDB_RESUME_STEP;
	resume(s, actions);
}

static void
cmd_continue(struct gdb_session *s, const char *arg)
{
	resume_legacy(s, arg, false, false);
}

static void
cmd_step(struct gdb_session *s, const char *arg)
{
	resume_legacy(s, arg, true, false);
}

static void
cmd_continue_sig(struct gdb_session *s, const char *arg)
{
	resume_legacy(s, arg, false, true);
}

static void
cmd_step_sig(struct gdb_session *s, const char *arg)
{
	resume_legacy(s, arg, true, true);
}

/* bs / bc: backwards (a replay); the stop reply comes later. */
static void
reverse(struct gdb_session *s, bool step)
{
	int t = thread_valid(s, s->cthread) ? s->cthread : s->last.thread;
	int error;

	if (!can_reverse(s)) {
		gdb_send_reply(s); /* empty: not supported */
		return;
	}
	s->running = true;
	error = s->target.ops->reverse(s->target.arg, t, step);
	if (error != 0 && s->running) {
		s->running = false;
		reply_error(s, error);
	}
}

static void
cmd_reverse_step(struct gdb_session *s, const char *arg)
{
	reverse(s, true);
}

static void
cmd_reverse_continue(struct gdb_session *s, const char *arg)
{
	reverse(s, false);
}

static void
cmd_vcont_query(struct gdb_session *s, const char *arg)
{
	reply_str(s, "vCont;c;C;s;S");
}

/* vCont;ACTION[:THREAD];...: the first action naming a thread wins. */
static void
cmd_vcont(struct gdb_session *s, const char *arg)
{
	enum gdb_resume_action actions[256];
	int n = nthreads(s);
	bool set[256] = { false };

	if (n > 256)
		n = 256;
	for (int i = 0; i < n; i++)
		actions[i] = GDB_RESUME_NONE;
	while (*arg == ';') {
		enum gdb_resume_action a;
		uint64_t sig;
		int t = -1;

		arg++;
		switch (*arg++) {
		case 'c':
			a = GDB_RESUME_CONT;
			break;
		case 's':
			a = GDB_RESUME_STEP;
			break;
		case 'C':
			a = GDB_RESUME_CONT;
			if (!parse_hex(&arg, &sig))
				goto bad;
			break;
		case 'S':
			a = GDB_RESUME_STEP;
			if (!parse_hex(&arg, &sig))
				goto bad;
			break;
		default:
			goto bad;
		}
		if (*arg == ':') {
			arg++;
			if (!parse_thread(&arg, &t) || t == 0 ||
			    (t > 0 && !thread_valid(s, t)))
				goto bad;
		}
		for (int i = 0; i < n; i++) {
			if (!set[i] && (t == -1 || t == i + 1)) {
				actions[i] = a;
				set[i] = true;
			}
		}
	}
	if (*arg != '\0')
		goto bad;
	resume(s, actions);
	return;
bad:
	reply_error(s, EINVAL);
}

/* Z/z TYPE,ADDR,KIND */
static void
breakpoint(struct gdb_session *s, const char *arg, bool insert)
{
	uint64_t type, addr, kind;
	int error;

	if (!parse_hex(&arg, &type) || *arg++ != ',' ||
	    !parse_addr_len(&arg, &addr, &kind, '\0')) {
		/* Conditions and commands (";X...") are not supported. */
		reply_error(s, EINVAL);
		return;
	}
	if (type > GDB_WP_ACCESS || kind > 8)
		return; /* empty: not supported */
	error = insert ? s->target.ops->insert_bp(s->target.arg,
						  (enum gdb_bp_type)type, addr,
						  (int)kind)
		       : s->target.ops->remove_bp(s->target.arg,
						  (enum gdb_bp_type)type, addr,
						  (int)kind);
	if (error == ENOTSUP)
		return;
	if (error != 0)
		reply_error(s, error);
	else
		reply_str(s, "OK");
}

static void
cmd_insert_bp(struct gdb_session *s, const char *arg)
{
	breakpoint(s, arg, true);
}

static void
cmd_remove_bp(struct gdb_session *s, const char *arg)
{
	breakpoint(s, arg, false);
}

static void
cmd_detach(struct gdb_session *s, const char *arg)
{
	s->target.ops->detach(s->target.arg);
	reply_str(s, "OK");
	s->done = true;
}

static void
cmd_kill(struct gdb_session *s, const char *arg)
{
	s->done = true;
	s->target.ops->kill(s->target.arg);
}

/*
 * The table.  An entry matches a packet that starts with 'name' (and is
 * exactly 'name' when 'exact'); the first match wins, so longer names
 * come before their prefixes.
 */
static const struct gdb_cmd {
	const char *name;
	bool exact;
	bool noreply; /* the handler replies itself, or never */
	void (*fn)(struct gdb_session *s, const char *arg);
} gdb_cmds[] = {
	{ "qSupported", false, false, cmd_supported },
	{ "QStartNoAckMode", true, true, cmd_noack },
	{ "qXfer:features:read:", false, false, cmd_features },
	{ "qfThreadInfo", true, false, cmd_thread_first },
	{ "qsThreadInfo", true, false, cmd_thread_next },
	{ "qThreadExtraInfo,", false, false, cmd_thread_extra },
	{ "qAttached", false, false, cmd_attached },
	{ "qRcmd,", false, false, cmd_rcmd },
	{ "qC", true, false, cmd_current_thread },
	{ "vCont?", true, false, cmd_vcont_query },
	{ "bs", true, true, cmd_reverse_step },
	{ "bc", true, true, cmd_reverse_continue },
	{ "vCont", false, true, cmd_vcont },
	{ "?", true, false, cmd_status },
	{ "H", false, false, cmd_set_thread },
	{ "T", false, false, cmd_thread_alive },
	{ "g", true, false, cmd_read_regs },
	{ "G", false, false, cmd_write_regs },
	{ "p", false, false, cmd_read_reg },
	{ "P", false, false, cmd_write_reg },
	{ "m", false, false, cmd_read_mem },
	{ "M", false, false, cmd_write_mem },
	{ "X", false, false, cmd_write_bin },
	{ "c", false, true, cmd_continue },
	{ "s", false, true, cmd_step },
	{ "C", false, true, cmd_continue_sig },
	{ "S", false, true, cmd_step_sig },
	{ "Z", false, false, cmd_insert_bp },
	{ "z", false, false, cmd_remove_bp },
	{ "D", false, false, cmd_detach },
	{ "k", true, true, cmd_kill },
};

void
gdb_dispatch(struct gdb_session *s)
{
	const char *p = (const char *)s->pkt;
	const struct gdb_cmd *cmd = NULL;

	s->rlen = 0;
	s->rfull = false;
	for (size_t i = 0; i < sizeof(gdb_cmds) / sizeof(gdb_cmds[0]); i++) {
		size_t n = strlen(gdb_cmds[i].name);

		if (strncmp(p, gdb_cmds[i].name, n) == 0 &&
		    (!gdb_cmds[i].exact || s->len == n)) {
			cmd = &gdb_cmds[i];
			break;
		}
	}
	if (s->done) {
		reply_error(s, EPIPE);
	} else if (s->running) {
		/* All-stop: nothing but Ctrl-C until the stop reply. */
		reply_error(s, EBUSY);
	} else if (cmd == NULL) {
		/* Unknown: the empty reply. */
	} else if (cmd->name[0] != 'X' && memchr(p, '\0', s->len) != NULL) {
		reply_error(s, EINVAL); /* a NUL in a text packet */
	} else {
		cmd->fn(s, p + strlen(cmd->name));
		if (cmd->noreply && s->rlen == 0 && !s->rfull)
			return; /* replied already, or the stop reply will */
	}
	gdb_send_reply(s);
}

/* ---- the session ----------------------------------------------------- */

struct gdb_session *
gdb_session_new(const struct gdb_target *target, const struct gdb_stop *stop,
		gdb_send_fn send, void *sendarg)
{
	struct gdb_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->target = *target;
	s->send = send;
	s->sendarg = sendarg;
	s->last = *stop;
	return s;
}

void
gdb_session_free(struct gdb_session *s)
{
	if (s == NULL)
		return;
	free(s->wire);
	free(s);
}

void
gdb_input(struct gdb_session *s, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		gdb_packet_byte(s, buf[i]);
}

void
gdb_stopped(struct gdb_session *s, const struct gdb_stop *stop)
{
	if (!s->running || s->done)
		return;
	s->running = false;
	s->last = *stop;
	s->last.note = NULL;
	if (stop->note != NULL)
		monitor_out(s, stop->note);
	s->rlen = 0;
	s->rfull = false;
	reply_stop(s, stop);
	gdb_send_reply(s);
}

void
gdb_exited(struct gdb_session *s, bool exited, int status, int signo)
{
	if (s->done)
		return;
	s->running = false;
	s->done = true;
	s->rlen = 0;
	s->rfull = false;
	if (exited)
		reply_fmt(s, "W%02x", status & 0xff);
	else
		reply_fmt(s, "X%02x", signo & 0xff);
	gdb_send_reply(s);
}

bool
gdb_session_running(const struct gdb_session *s)
{
	return s->running;
}

bool
gdb_session_done(const struct gdb_session *s)
{
	return s->done;
}

bool
gdb_session_phys(const struct gdb_session *s)
{
	return s->phys;
}
