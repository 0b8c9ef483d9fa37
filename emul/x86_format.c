/*
 * Names and the Intel-syntax formatter of the decoder's output, close to
 * what capstone prints ("mov eax, dword ptr [rbx + 8]"), for logs.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "x86.h"

static const char *const mnem_names[X86_M_COUNT] = {
	[X86_M_INVALID] = "(bad)",
#define X86_MNEM_X(name) [X86_M_##name] = #name,
#include "x86_optab_mnem.inc"
#undef X86_MNEM_X
};

const char *
x86_mnem_name(unsigned int mnem)
{
	static char lower[X86_M_COUNT][20];
	static bool done;

	if (mnem >= X86_M_COUNT)
		return "(bad)";
	if (!done) {
		/* Lower-case copies, made once (idempotent if raced). */
		for (unsigned int i = 0; i < X86_M_COUNT; i++) {
			const char *s = mnem_names[i];
			size_t j;

			for (j = 0; s[j] != '\0' && j < sizeof(lower[i]) - 1;
			     j++)
				lower[i][j] =
				    (char)tolower((unsigned char)s[j]);
			lower[i][j] = '\0';
		}
		done = true;
	}
	return lower[mnem];
}

enum x86_reg_class
x86_reg_class(unsigned int r)
{
	if (r == X86_R_NONE || r >= X86_R_COUNT)
		return X86_RC_NONE;
	if (r < X86_R_AX)
		return X86_RC_GPR8;
	if (r < X86_R_EAX)
		return X86_RC_GPR16;
	if (r < X86_R_RAX)
		return X86_RC_GPR32;
	if (r < X86_R_IP)
		return X86_RC_GPR64;
	if (r < X86_R_ES)
		return X86_RC_IP;
	if (r < X86_R_CR0)
		return X86_RC_SEG;
	if (r < X86_R_DR0)
		return X86_RC_CR;
	if (r < X86_R_MM0)
		return X86_RC_DR;
	if (r < X86_R_ST0)
		return X86_RC_MMX;
	if (r < X86_R_XMM0)
		return X86_RC_X87;
	if (r < X86_R_YMM0)
		return X86_RC_XMM;
	if (r < X86_R_ZMM0)
		return X86_RC_YMM;
	if (r < X86_R_K0)
		return X86_RC_ZMM;
	if (r < X86_R_BND0)
		return X86_RC_MASK;
	return X86_RC_BND;
}

unsigned int
x86_reg_size(unsigned int r)
{
	switch (x86_reg_class(r)) {
	case X86_RC_GPR8:
		return 1;
	case X86_RC_GPR16:
	case X86_RC_SEG:
		return 2;
	case X86_RC_GPR32:
		return 4;
	case X86_RC_IP:
		return r == X86_R_IP ? 2 : r == X86_R_EIP ? 4 : 8;
	case X86_RC_GPR64:
	case X86_RC_CR:
	case X86_RC_DR:
	case X86_RC_MMX:
	case X86_RC_MASK:
		return 8;
	case X86_RC_X87:
		return 10;
	case X86_RC_XMM:
	case X86_RC_BND:
		return 16;
	case X86_RC_YMM:
		return 32;
	case X86_RC_ZMM:
		return 64;
	default:
		return 0;
	}
}

int
x86_reg_gpr_num(unsigned int r)
{
	switch (x86_reg_class(r)) {
	case X86_RC_GPR8:
		if (r < X86_R_SPL)
			return (int)(r - X86_R_AL);
		return (int)(r - X86_R_SPL) + 4;
	case X86_RC_GPR16:
		return (int)(r - X86_R_AX);
	case X86_RC_GPR32:
		return (int)(r - X86_R_EAX);
	case X86_RC_GPR64:
		return (int)(r - X86_R_RAX);
	default:
		return -1;
	}
}

static const char *const gpr64[16] = { "rax", "rcx", "rdx", "rbx",
				       "rsp", "rbp", "rsi", "rdi" };
static const char *const gpr8l[12] = { "al", "cl", "dl",  "bl",  "ah",  "ch",
				       "dh", "bh", "spl", "bpl", "sil", "dil" };
static const char *const gpr16[8] = { "ax", "cx", "dx", "bx",
				      "sp", "bp", "si", "di" };
static const char *const segs[6] = { "es", "cs", "ss", "ds", "fs", "gs" };

const char *
x86_reg_name(unsigned int r)
{
	static char names[X86_R_COUNT][16];
	static bool done;

	if (r == X86_R_NONE || r >= X86_R_COUNT)
		return "?";
	if (!done) {
		for (unsigned int i = 1; i < X86_R_COUNT; i++) {
			char *n = names[i];
			size_t sz = sizeof(names[i]);
			unsigned int k;

			switch (x86_reg_class(i)) {
			case X86_RC_GPR8:
				k = i - X86_R_AL;
				if (k < 12)
					snprintf(n, sz, "%s", gpr8l[k]);
				else
					snprintf(n, sz, "r%ub", k - 4);
				break;
			case X86_RC_GPR16:
				k = i - X86_R_AX;
				if (k < 8)
					snprintf(n, sz, "%s", gpr16[k]);
				else
					snprintf(n, sz, "r%uw", k);
				break;
			case X86_RC_GPR32:
				k = i - X86_R_EAX;
				if (k < 8)
					snprintf(n, sz, "e%s", gpr16[k]);
				else
					snprintf(n, sz, "r%ud", k);
				break;
			case X86_RC_GPR64:
				k = i - X86_R_RAX;
				if (k < 8)
					snprintf(n, sz, "%s", gpr64[k]);
				else
					snprintf(n, sz, "r%u", k);
				break;
			case X86_RC_IP:
				snprintf(n, sz, "%s",
					 i == X86_R_IP    ? "ip"
					 : i == X86_R_EIP ? "eip"
							  : "rip");
				break;
			case X86_RC_SEG:
				snprintf(n, sz, "%s", segs[i - X86_R_ES]);
				break;
			case X86_RC_CR:
				snprintf(n, sz, "cr%u", i - X86_R_CR0);
				break;
			case X86_RC_DR:
				snprintf(n, sz, "dr%u", i - X86_R_DR0);
				break;
			case X86_RC_MMX:
				snprintf(n, sz, "mm%u", i - X86_R_MM0);
				break;
			case X86_RC_X87:
				snprintf(n, sz, "st(%u)", i - X86_R_ST0);
				break;
			case X86_RC_XMM:
				snprintf(n, sz, "xmm%u", i - X86_R_XMM0);
				break;
			case X86_RC_YMM:
				snprintf(n, sz, "ymm%u", i - X86_R_YMM0);
				break;
			case X86_RC_ZMM:
				snprintf(n, sz, "zmm%u", i - X86_R_ZMM0);
				break;
			case X86_RC_MASK:
				snprintf(n, sz, "k%u", i - X86_R_K0);
				break;
			case X86_RC_BND:
				snprintf(n, sz, "bnd%u", i - X86_R_BND0);
				break;
			default:
				snprintf(n, sz, "?");
				break;
			}
		}
		done = true;
	}
	return names[r];
}

const char *
x86_dec_status_name(int status)
{
	switch (status) {
	case X86_DEC_OK:
		return "ok";
	case X86_DEC_UD:
		return "#UD";
	case X86_DEC_GP:
		return "#GP";
	case X86_DEC_FETCH:
		return "fetch fault";
	default:
		return "?";
	}
}

/* A bounded appender: keeps counting past the end like snprintf. */
struct sbuf {
	char *p;
	size_t size, len;
};

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;
	size_t room = sb->len < sb->size ? sb->size - sb->len : 0;

	va_start(ap, fmt);
	n = vsnprintf(room ? sb->p + sb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len += (size_t)n;
}

static const char *
ptr_name(unsigned int size)
{
	switch (size) {
	case 1:
		return "byte ptr ";
	case 2:
		return "word ptr ";
	case 4:
		return "dword ptr ";
	case 6:
		return "fword ptr ";
	case 8:
		return "qword ptr ";
	case 10:
		return "xword ptr ";
	case 16:
		return "xmmword ptr ";
	case 32:
		return "ymmword ptr ";
	case 64:
		return "zmmword ptr ";
	default:
		return "ptr ";
	}
}

static void
fmt_hex(struct sbuf *sb, int64_t v)
{
	if (v < 0)
		sb_printf(sb, "-0x%" PRIx64, (uint64_t)0 - (uint64_t)v);
	else if (v > 9)
		sb_printf(sb, "0x%" PRIx64, (uint64_t)v);
	else
		sb_printf(sb, "%" PRId64, v);
}

/* The name as printed: one id per operation, size variants by opsize. */
static const char *
print_name(const struct x86_instr *in, char *tmp, size_t tmpsz)
{
	const char *n = x86_mnem_name(in->mnem);
	unsigned int os = in->opsize;
	static const char *const s3[3][3] = {
		{ "cbw", "cwde", "cdqe" },
		{ "cwd", "cdq", "cqo" },
		{ "jcxz", "jecxz", "jrcxz" },
	};
	unsigned int k = os == 2 ? 0 : os == 4 ? 1 : 2;

	switch (in->mnem) {
	case X86_M_CBW:
		return s3[0][k];
	case X86_M_CWD:
		return s3[1][k];
	case X86_M_JCXZ:
		k = in->addrsize == 2 ? 0 : in->addrsize == 4 ? 1 : 2;
		return s3[2][k];
	case X86_M_MOVS:
	case X86_M_CMPS:
	case X86_M_STOS:
	case X86_M_LODS:
	case X86_M_SCAS:
	case X86_M_INS:
	case X86_M_OUTS:
		snprintf(tmp, tmpsz, "%s%c", n, "wdq"[k]);
		return tmp;
	case X86_M_PUSHA:
	case X86_M_POPA:
	case X86_M_PUSHF:
	case X86_M_POPF:
	case X86_M_IRET:
		if (os == 2)
			return n;
		snprintf(tmp, tmpsz, "%s%c", n, os == 4 ? 'd' : 'q');
		return tmp;
	default:
		return n;
	}
}

int
x86_format(const struct x86_instr *in, uint64_t ip, char *buf, size_t size)
{
	struct sbuf sb = { buf, size, 0 };
	char tmp[24];

	if (size > 0)
		buf[0] = '\0';
	if (in->status != X86_DEC_OK) {
		if (in->status == X86_DEC_FETCH)
			sb_printf(&sb, "(fetch fault at byte %u)",
				  in->fault_offset);
		else
			sb_printf(&sb, "(bad: %s)",
				  x86_dec_status_name(in->status));
		return (int)sb.len;
	}
	if (in->prefixes & X86_PFX_LOCK)
		sb_printf(&sb, "lock ");
	if (in->map == X86_MAP_1BYTE &&
	    ((in->opcode >= 0x6c && in->opcode <= 0x6f) ||
	     (in->opcode >= 0xa4 && in->opcode <= 0xa7) ||
	     (in->opcode >= 0xaa && in->opcode <= 0xaf))) {
		bool z = (in->opcode & 0xf6) == 0xa6; /* cmps, scas */

		if (in->prefixes & X86_PFX_REP)
			sb_printf(&sb, z ? "repe " : "rep ");
		else if ((in->prefixes & X86_PFX_REPNE) && z)
			sb_printf(&sb, "repne ");
	}
	sb_printf(&sb, "%s", print_name(in, tmp, sizeof(tmp)));
	for (unsigned int i = 0; i < in->nops; i++) {
		const struct x86_operand *op = &in->ops[i];

		sb_printf(&sb, i ? ", " : " ");
		switch (op->type) {
		case X86_OPND_REG:
			sb_printf(&sb, "%s", x86_reg_name(op->reg));
			break;
		case X86_OPND_IMM:
			fmt_hex(&sb, op->imm);
			break;
		case X86_OPND_REL: {
			uint64_t t = ip + in->length + (uint64_t)op->imm;

			if (in->opsize == 2)
				t &= 0xffff;
			else if (in->opsize == 4)
				t &= 0xffffffff;
			sb_printf(&sb, "0x%" PRIx64, t);
			break;
		}
		case X86_OPND_FAR:
			sb_printf(&sb, "0x%x:0x%" PRIx64, op->sel,
				  (uint64_t)op->imm);
			break;
		case X86_OPND_MEM: {
			bool any = false;

			sb_printf(&sb, "%s", ptr_name(op->size));
			if (in->seg_override && op->seg == in->seg_override)
				sb_printf(&sb, "%s:", x86_reg_name(op->seg));
			sb_printf(&sb, "[");
			if (op->base) {
				sb_printf(&sb, "%s", x86_reg_name(op->base));
				any = true;
			}
			if (op->index) {
				sb_printf(&sb, "%s%s", any ? " + " : "",
					  x86_reg_name(op->index));
				if (op->scale > 1)
					sb_printf(&sb, "*%u", op->scale);
				any = true;
			}
			if (op->disp || !any) {
				if (!any) {
					uint64_t d = (uint64_t)op->disp;

					if (in->addrsize < 8)
						d &= (1ULL
						      << (8 * in->addrsize)) -
						     1;
					sb_printf(&sb, "0x%" PRIx64, d);
				} else if (op->disp < 0)
					sb_printf(&sb, " - 0x%" PRIx64,
						  (uint64_t)0 -
						      (uint64_t)op->disp);
				else
					sb_printf(&sb, " + 0x%" PRIx64,
						  (uint64_t)op->disp);
			}
			sb_printf(&sb, "]");
			if (op->bcst)
				sb_printf(&sb, "{1to%u}", op->bcst);
			break;
		}
		default:
			sb_printf(&sb, "?");
			break;
		}
		/* EVEX opmask and zeroing after the destination */
		if (i == 0 && (in->evex_aaa || in->evex_z)) {
			if (in->evex_aaa)
				sb_printf(&sb, " {k%u}", in->evex_aaa);
			if (in->evex_z)
				sb_printf(&sb, " {z}");
		}
	}
	/* EVEX.b with a register form: static rounding or SAE, last */
	if (in->evex_rc) {
		static const char *const rc[4] = { "rn", "rd", "ru", "rz" };

		sb_printf(&sb, ", {%s-sae}", rc[(in->evex_rc - 1) & 3]);
	} else if (in->evex_sae) {
		sb_printf(&sb, ", {sae}");
	}
	return (int)sb.len;
}
