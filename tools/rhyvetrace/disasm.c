/*
 * rhyvetrace disasm: the instructions behind the exits.  DECODE events
 * carry the instruction bytes; the rip is the one of the vCPU's EXIT that
 * the DECODE follows.  Each distinct instruction (mode, rip, bytes) is
 * counted, and disassembled once, at the end, with capstone: an
 * independent decoder, so a recorded text from rhyve's own decoder is not
 * trusted to describe the bytes.
 *
 * The CPU mode comes from --mode, else from the vCPU's latest REGS event
 * (CR0.PE, EFER.LMA, CS.L, CS.D), else from the header's trace.cpu_mode,
 * else 64-bit.
 */
#include <capstone/capstone.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rhyvetrace.h"
#include "vmm.h"

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: rhyvetrace disasm [--top N] [--att] [--mode 16|32|64] "
	    "FILE\n"
	    "Disassemble the instructions behind exits (DECODE events) with "
	    "capstone\nand count each distinct instruction (rip and bytes), "
	    "most frequent\nfirst; then the counts per mnemonic.\n"
	    "  --top N     rows shown (default 20; 0: all)\n"
	    "  --att       AT&T syntax (default Intel)\n"
	    "  --mode M    decode as 16-, 32- or 64-bit code (default: from "
	    "the vCPU's\n"
	    "              registers in the trace, else 64)\n"
	    "Exit status: 0 (also when there are no DECODE events), 1 if "
	    "damage was\nmet, 2 usage, 3 if FILE cannot be read.\n");
}

/*
 * Per-vCPU state in a map entry's values: the rip of the last exit, whether
 * a DECODE may still take it, and the mode from REGS (0: not known).
 */
enum { VS_RIP, VS_RIP_VALID, VS_MODE };

/* The mode from a REGS event, or 0 if it lacks CR0 or CS attributes. */
static unsigned
mode_from_regs(const struct trace_event *ev)
{
	uint64_t cr0 = 0, efer = 0, cs = 0;
	bool have_cr0 = false, have_cs = false;

	for (uint32_t i = 0; ev->u.regs.regs != NULL && i < ev->u.regs.count;
	     i++) {
		const struct trace_reg *g = &ev->u.regs.regs[i];

		if (g->id == VM_REG_GUEST_CR0) {
			cr0 = g->value;
			have_cr0 = true;
		} else if (g->id == VM_REG_GUEST_EFER) {
			efer = g->value;
		} else if (g->id == TRACE_REG_SEG_ACCESS(VM_REG_GUEST_CS)) {
			cs = g->value;
			have_cs = true;
		}
	}
	if (!have_cr0 || !have_cs)
		return 0;
	if (!(cr0 & 1)) /* real mode */
		return 16;
	if ((efer & (1u << 10)) && (cs & SEG_ACC_L))
		return 64; /* long mode, 64-bit code segment */
	return (cs & SEG_ACC_DB) ? 32 : 16;
}

static bool
parse_mode(const char *s, unsigned *mode)
{
	if (s == NULL)
		return false;
	if (strcmp(s, "16") == 0 || strcmp(s, "32") == 0 ||
	    strcmp(s, "64") == 0) {
		*mode = (unsigned)atoi(s);
		return true;
	}
	return false;
}

static int
by_count(const void *a, const void *b)
{
	const struct rt_entry *x = a, *y = b;

	if (x->v[0] != y->v[0])
		return x->v[0] < y->v[0] ? 1 : -1;
	/* ties: first seen first, so the order is stable across runs */
	return x->v[1] < y->v[1] ? -1 : x->v[1] > y->v[1];
}

/* Key: rip, 15 bytes and the length, mode and whether rip is known. */
static struct rt_key
insn_key(uint64_t rip, bool rip_valid, const uint8_t *bytes, uint8_t len,
	 unsigned mode)
{
	struct rt_key k;
	uint8_t b[16] = { 0 };

	memcpy(b, bytes, len);
	b[15] = len;
	k.k[0] = rip_valid ? rip : 0;
	memcpy(&k.k[1], b, 16);
	k.k[3] = mode | (rip_valid ? 0x100u : 0);
	return k;
}

/* Disassemble one instruction into 'out'; false if capstone cannot. */
static bool
disas_one(csh cs, const uint8_t *bytes, size_t len, uint64_t rip, char *out,
	  size_t outlen)
{
	cs_insn *insn = NULL;
	size_t n = cs_disasm(cs, bytes, len, rip, 1, &insn);

	if (n == 0) {
		snprintf(out, outlen, "(bad)");
		return false;
	}
	char tail[48] = "";

	/* Bytes after the instruction: the record says more than it is. */
	if (insn[0].size < len)
		snprintf(tail, sizeof(tail), "  (+%zu trailing bytes)",
			 len - insn[0].size);
	snprintf(out, outlen, "%s%s%s%s", insn[0].mnemonic,
		 insn[0].op_str[0] != '\0' ? " " : "", insn[0].op_str, tail);
	cs_free(insn, n);
	return true;
}

static int
open_cs(unsigned mode, bool att, csh *cs)
{
	cs_mode m = mode == 16   ? CS_MODE_16
		    : mode == 32 ? CS_MODE_32
				 : CS_MODE_64;

	if (cs_open(CS_ARCH_X86, m, cs) != CS_ERR_OK)
		return -1;
	if (att)
		cs_option(*cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	return 0;
}

static int
print_table(struct rt_map *insns, uint64_t ndecode, size_t top, bool att)
{
	csh cs[3];
	bool cs_ok[3] = { false, false, false };
	struct rt_map mn; /* mnemonic -> count */
	struct rt_entry *e, *me;
	size_t n, nm;
	char text[256];

	rt_map_init(&mn);
	e = rt_map_sorted(insns, by_count, &n);
	printf("%" PRIu64 " decode events, %zu distinct instructions\n\n",
	       ndecode, n);
	printf("%10s %7s  %-18s %-3s %-30s %s\n", "count", "share", "rip",
	       "bit", "bytes", "instruction");
	for (size_t i = 0; i < n; i++) {
		uint8_t bytes[16];
		unsigned mode = e[i].key.k[3] & 0xff;
		unsigned mi = mode == 16 ? 0 : mode == 32 ? 1 : 2;
		bool rip_valid = e[i].key.k[3] & 0x100;
		char hex[48] = "";

		memcpy(bytes, &e[i].key.k[1], 16);
		if (!cs_ok[mi]) {
			if (open_cs(mode, att, &cs[mi]) != 0) {
				rt_warnx("capstone: cannot open x86 %u-bit",
					 mode);
				free(e);
				rt_map_free(&mn);
				return -1;
			}
			cs_ok[mi] = true;
		}
		if (bytes[15] == 0)
			snprintf(text, sizeof(text), "(no bytes)");
		else
			disas_one(cs[mi], bytes, bytes[15], e[i].key.k[0], text,
				  sizeof(text));
		/* The mnemonic is the first word; 31 bytes fit the key. */
		struct rt_key mk = { { 0 } };

		memcpy(mk.k, text,
		       strcspn(text, " ") < 31 ? strcspn(text, " ") : 31);
		rt_map_get(&mn, &mk)->v[0] += e[i].v[0];
		if (top != 0 && i >= top)
			continue;
		for (unsigned b = 0, pos = 0; b < bytes[15]; b++)
			pos += (unsigned)snprintf(hex + pos, sizeof(hex) - pos,
						  "%s%02x", b > 0 ? " " : "",
						  bytes[b]);
		if (rip_valid)
			printf("%10" PRIu64 " %6.2f%%  0x%-16" PRIx64
			       " %-3u %-30s %s\n",
			       e[i].v[0],
			       100.0 * (double)e[i].v[0] / (double)ndecode,
			       e[i].key.k[0], mode, hex, text);
		else
			printf("%10" PRIu64 " %6.2f%%  %-18s %-3u %-30s %s\n",
			       e[i].v[0],
			       100.0 * (double)e[i].v[0] / (double)ndecode, "?",
			       mode, hex, text);
	}
	if (top != 0 && n > top)
		printf("  (%zu more)\n", n - top);

	me = rt_map_sorted(&mn, by_count, &nm);
	printf("\nper mnemonic:\n");
	for (size_t i = 0; i < nm; i++) {
		char name[33] = { 0 };

		memcpy(name, me[i].key.k, 32);
		printf("%10" PRIu64 " %6.2f%%  %s\n", me[i].v[0],
		       100.0 * (double)me[i].v[0] / (double)ndecode, name);
	}
	free(me);
	free(e);
	rt_map_free(&mn);
	for (int i = 0; i < 3; i++)
		if (cs_ok[i])
			cs_close(&cs[i]);
	return 0;
}

int
rt_cmd_disasm(int argc, char **argv)
{
	enum { OPT_TOP = 256, OPT_ATT, OPT_MODE };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "att", no_argument, NULL, OPT_ATT },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ NULL, 0, NULL, 0 },
	};
	struct rt_map vcpus, insns;
	struct rt_progress prog;
	struct trace_reader *r;
	struct trace_event ev;
	uint64_t top = 20, seen = 0, ndecode = 0;
	unsigned force_mode = 0, header_mode = 64;
	bool att = false;
	int c, rc, status = RT_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return RT_EXIT_OK;
		case OPT_TOP:
			if (!rt_parse_u64(optarg, &top))
				return rt_usage_error(
				    "disasm", "bad value '%s' for --top",
				    optarg);
			break;
		case OPT_ATT:
			att = true;
			break;
		case OPT_MODE:
			if (!parse_mode(optarg, &force_mode))
				return rt_usage_error(
				    "disasm",
				    "--mode is 16, 32 or 64, not '%s'", optarg);
			break;
		default:
			return rt_option_error("disasm", c, argv);
		}
	}
	if (argc - optind != 1)
		return rt_usage_error("disasm", "expects one FILE");
	if ((r = rt_open(argv[optind])) == NULL)
		return RT_EXIT_IO;
	if (!parse_mode(trace_header_get(r, "trace.cpu_mode"), &header_mode))
		header_mode = 64;

	rt_map_init(&vcpus);
	rt_map_init(&insns);
	rt_progress_start(&prog, "disasm", r, false);
	while ((rc = trace_next(r, &ev)) != 0) {
		struct rt_key vk = { { ev.vcpu } };
		uint64_t *vs;

		if (rc < 0) {
			status = RT_EXIT_DAMAGE;
			break;
		}
		rt_progress_tick(&prog, ++seen);
		if (ev.kind != TRACE_EV_EXIT && ev.kind != TRACE_EV_REGS &&
		    ev.kind != TRACE_EV_DECODE)
			continue;
		vs = rt_map_get(&vcpus, &vk)->v;
		if (ev.kind == TRACE_EV_EXIT) {
			vs[VS_RIP] = ev.u.exit.rip;
			vs[VS_RIP_VALID] = 1;
		} else if (ev.kind == TRACE_EV_REGS) {
			unsigned m = mode_from_regs(&ev);

			if (m != 0)
				vs[VS_MODE] = m;
		} else {
			uint8_t len =
			    ev.u.decode.len <= 15 ? ev.u.decode.len : 15;
			unsigned mode = force_mode    ? force_mode
					: vs[VS_MODE] ? (unsigned)vs[VS_MODE]
						      : header_mode;
			struct rt_key k =
			    insn_key(vs[VS_RIP], vs[VS_RIP_VALID] != 0,
				     ev.u.decode.bytes, len, mode);
			struct rt_entry *ie = rt_map_get(&insns, &k);

			if (ie->v[0]++ == 0)
				ie->v[1] = ev.index;
			ndecode++;
			/* One DECODE per exit: the next one needs a new exit.
			 */
			vs[VS_RIP_VALID] = 0;
		}
	}
	rt_progress_end(&prog);
	if (ndecode == 0)
		printf("no DECODE events in this trace (%" PRIu64
		       " events read)\n",
		       seen);
	else if (print_table(&insns, ndecode, top, att) != 0)
		status = RT_EXIT_IO;
	if (rc < 0)
		rt_report_damage(r, argv[optind]);
	rt_map_free(&vcpus);
	rt_map_free(&insns);
	trace_close(r);
	return status;
}
