/*
 * Fuzz target: the x86 decoder in all three modes, the formatter, and the
 * fetch-callback path.  Besides crashes and sanitizer reports it checks
 * what a decode promises: length <= 15, a successful decode used no more
 * bytes than given, a fetch fault names a byte past the input, operands
 * are well-formed, and the formatter NUL-terminates.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fbuf {
	const uint8_t *p;
	size_t len, page; /* bytes from 'page' on are "not present" */
};

static int
fetch(void *arg, uint64_t off, uint8_t *buf, size_t len)
{
	struct fbuf *f = arg;
	size_t lim = f->len < f->page ? f->len : f->page;

	if (off >= lim)
		return -1;
	if (len > lim - off)
		len = lim - off;
	memcpy(buf, f->p + off, len);
	return (int)len;
}

static void
check(const struct x86_instr *in, int rc, size_t avail)
{
	char out[160], tiny[8];

	if (rc != in->status || in->length > 15)
		abort();
	if (rc == X86_DEC_OK) {
		if (in->length == 0 || in->length > avail)
			abort();
		if (in->nops > 4 || in->mnem == 0 || in->mnem >= X86_M_COUNT)
			abort();
		for (unsigned int i = 0; i < in->nops; i++) {
			const struct x86_operand *op = &in->ops[i];
			if (op->type == X86_OPND_NONE ||
			    op->type > X86_OPND_FAR)
				abort();
			if (op->type == X86_OPND_REG &&
			    (op->reg == X86_R_NONE || op->reg >= X86_R_COUNT))
				abort();
			if (op->type == X86_OPND_MEM &&
			    (op->base >= X86_R_COUNT ||
			     op->index >= X86_R_COUNT))
				abort();
		}
	} else if (rc == X86_DEC_FETCH) {
		if (in->fault_offset < avail || in->fault_offset >= 15)
			abort();
	} else if (rc != X86_DEC_UD && rc != X86_DEC_GP) {
		abort();
	}
	memset(out, 'x', sizeof(out));
	x86_format(in, 0x1000, out, sizeof(out));
	if (memchr(out, '\0', sizeof(out)) == NULL)
		abort();
	memset(tiny, 'x', sizeof(tiny));
	x86_format(in, 0, tiny, sizeof(tiny));
	if (memchr(tiny, '\0', sizeof(tiny)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_instr in, in2;
	size_t avail = size < 15 ? size : 15;

	for (int mode = X86_MODE_16; mode <= X86_MODE_64; mode++) {
		int rc = x86_decode(&in, (enum x86_mode)mode, data, size);
		check(&in, rc, avail);
		/* The callback path with a "page" ending at byte data[0] % 16:
		 * the same answer wherever the decode did not need more. */
		struct fbuf f = { data, size, size ? data[0] % 16 : 0 };
		size_t lim = f.page < avail ? f.page : avail;
		int rc2 =
		    x86_decode_fetch(&in2, (enum x86_mode)mode, fetch, &f);
		check(&in2, rc2, lim);
		if (rc == X86_DEC_OK && in.length <= lim &&
		    (rc2 != X86_DEC_OK || in2.length != in.length ||
		     in2.mnem != in.mnem))
			abort();
	}
	return 0;
}
