/*
 * A small AML byte builder for the DSDT, in the manner of QEMU's
 * aml-build.c: the encodings of the ACPI specification's chapter 20
 * (ACPI Machine Language) written straight into a growing buffer, so that
 * rhyve needs no ASL compiler.
 *
 * Objects with a PkgLength (Scope, Device, Package, Buffer) are opened
 * with aml_open(), filled, and closed with aml_close(), which inserts the
 * PkgLength once the length is known.  Running out of memory is sticky:
 * every later call does nothing and aml_finish() reports it.
 */
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define AML_NAME_OP           0x08
#define AML_ZERO_OP           0x00
#define AML_ONE_OP            0x01
#define AML_ONES_OP           0xff
#define AML_BYTE_PREFIX       0x0a
#define AML_WORD_PREFIX       0x0b
#define AML_DWORD_PREFIX      0x0c
#define AML_STRING_PREFIX     0x0d
#define AML_QWORD_PREFIX      0x0e
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_ROOT_CHAR         '\\'
#define AML_PARENT_CHAR       '^'

void
aml_init(struct aml_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
aml_free(struct aml_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bool
aml_reserve(struct aml_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->oom)
		return false;
	if (b->len + n <= b->cap)
		return true;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void
aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	if (!aml_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

static void
aml_le(struct aml_buf *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		aml_byte(b, (uint8_t)(v >> (8 * i)));
}

/* The smallest encoding of an integer (ComputationalData). */
void
aml_integer(struct aml_buf *b, uint64_t v)
{
	if (v == 0) {
		aml_byte(b, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(b, AML_ONE_OP);
	} else if (v == UINT64_MAX) {
		aml_byte(b, AML_ONES_OP);
	} else if (v <= 0xff) {
		aml_byte(b, AML_BYTE_PREFIX);
		aml_le(b, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(b, AML_WORD_PREFIX);
		aml_le(b, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(b, AML_DWORD_PREFIX);
		aml_le(b, v, 4);
	} else {
		aml_byte(b, AML_QWORD_PREFIX);
		aml_le(b, v, 8);
	}
}

/*
 * A NameString: an optional root ('\') or parent ('^') prefix, then
 * dot-separated segments of up to four characters (padded with '_').
 * Segments longer than four characters are a bug of the caller.
 */
void
aml_name(struct aml_buf *b, const char *name)
{
	const char *p = name, *dot;
	int nseg = 0;

	while (*p == AML_ROOT_CHAR || *p == AML_PARENT_CHAR)
		aml_byte(b, (uint8_t)*p++);
	for (const char *q = p; *q != '\0'; q++)
		if (*q == '.')
			nseg++;
	nseg = *p == '\0' ? 0 : nseg + 1;
	if (nseg == 0) {
		aml_byte(b, 0x00); /* NullName */
		return;
	}
	if (nseg == 2)
		aml_byte(b, AML_DUAL_NAME_PREFIX);
	else if (nseg > 2) {
		aml_byte(b, AML_MULTI_NAME_PREFIX);
		aml_byte(b, (uint8_t)nseg);
	}
	for (; nseg > 0; nseg--) {
		uint8_t seg[4] = { '_', '_', '_', '_' };
		size_t n;

		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		memcpy(seg, p, n < 4 ? n : 4);
		aml_bytes(b, seg, 4);
		p += n + (dot != NULL);
	}
}

void
aml_string(struct aml_buf *b, const char *s)
{
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

/* EISAID("PNP0A03"): three letters of 5 bits and four hex digits. */
uint32_t
aml_eisaid_value(const char *id)
{
	uint32_t v = 0;

	for (int i = 0; i < 3; i++)
		v = v << 5 | ((uint32_t)(id[i] - 0x40) & 0x1f);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
			     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
						    : 0;
		v = v << 4 | d;
	}
	/* Stored big-endian: the first letter in the lowest byte's top. */
	return __builtin_bswap32(v << 1 >> 1);
}

void
aml_eisaid(struct aml_buf *b, const char *id)
{
	aml_byte(b, AML_DWORD_PREFIX);
	aml_le(b, aml_eisaid_value(id), 4);
}

/* Name(NAME, ...): the value follows with the next call. */
void
aml_name_decl(struct aml_buf *b, const char *name)
{
	aml_byte(b, AML_NAME_OP);
	aml_name(b, name);
}

/* Open an object with a PkgLength: the opcode (one or two bytes). */
size_t
aml_open(struct aml_buf *b, const uint8_t *op, size_t oplen)
{
	aml_bytes(b, op, oplen);
	return b->len;
}

/*
 * Close the object opened at 'pos': insert the PkgLength of everything
 * written since, which counts its own bytes (one byte up to 63, else two
 * to four bytes: the byte count in bits 7:6 of the first, its low nibble
 * and then whole bytes).
 */
void
aml_close(struct aml_buf *b, size_t pos)
{
	size_t body, total;
	uint8_t enc[4];
	int n;

	if (b->oom)
		return;
	body = b->len - pos;
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else if (body + 4 <= 0xfffffff)
		n = 4;
	else {
		b->oom = true; /* larger than AML can say */
		return;
	}
	total = body + (size_t)n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (int i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (!aml_reserve(b, (size_t)n))
		return;
	memmove(b->data + pos + n, b->data + pos, body);
	memcpy(b->data + pos, enc, (size_t)n);
	b->len += (size_t)n;
}

size_t
aml_scope(struct aml_buf *b, const char *name)
{
	static const uint8_t op[] = { 0x10 }; /* ScopeOp */
	size_t pos = aml_open(b, op, sizeof(op));

	aml_name(b, name);
	return pos;
}

size_t
aml_device(struct aml_buf *b, const char *name)
{
	static const uint8_t op[] = { 0x5b, 0x82 }; /* ExtOpPrefix DeviceOp */
	size_t pos = aml_open(b, op, sizeof(op));

	aml_name(b, name);
	return pos;
}

/* Package(n) { ... }: the elements follow, then aml_close(). */
size_t
aml_package(struct aml_buf *b, uint8_t nelem)
{
	static const uint8_t op[] = { 0x12 }; /* PackageOp */
	size_t pos = aml_open(b, op, sizeof(op));

	aml_byte(b, nelem);
	return pos;
}

/* Buffer() { bytes }: a complete Buffer object. */
void
aml_buffer(struct aml_buf *b, const uint8_t *data, size_t len)
{
	static const uint8_t op[] = { 0x11 }; /* BufferOp */
	size_t pos = aml_open(b, op, sizeof(op));

	aml_integer(b, len);
	aml_bytes(b, data, len);
	aml_close(b, pos);
}

/* ---- resource descriptors (ACPI 6.3 section 6.4) -------------------- */

/* IO(Decode16, min, max, align, len): small item 0x47. */
void
aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align,
	   uint8_t len)
{
	uint8_t d[8] = { 0x47,         0x01,
			 (uint8_t)min, (uint8_t)(min >> 8),
			 (uint8_t)max, (uint8_t)(max >> 8),
			 align,        len };

	aml_bytes(b, d, sizeof(d));
}

/* IRQNoFlags() { irq }: small item 0x22 (edge, active-high). */
void
aml_res_irq(struct aml_buf *b, int irq)
{
	uint16_t mask = (uint16_t)(1u << (irq & 15));
	uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(b, d, sizeof(d));
}

/* Memory32Fixed(ReadWrite/ReadOnly, base, len): large item 0x86. */
void
aml_res_mem32_fixed(struct aml_buf *b, bool rw, uint32_t base, uint32_t len)
{
	aml_byte(b, 0x86);
	aml_le(b, 9, 2);
	aml_byte(b, rw ? 1 : 0);
	aml_le(b, base, 4);
	aml_le(b, len, 4);
}

/*
 * Word/DWord/QWord address space descriptors as a PCI root bridge
 * produces them: ResourceProducer, PosDecode, MinFixed, MaxFixed
 * (general flags 0x0c), no translation.  'type' 0 memory, 1 I/O, 2 bus
 * numbers; 'tflags' the type-specific flags (memory: 1 read-write,
 * cacheable in bits 2:1; I/O: 3 entire range).  'size' 2, 4 or 8.
 */
void
aml_res_addr(struct aml_buf *b, int size, uint8_t type, uint8_t tflags,
	     uint64_t min, uint64_t max)
{
	static const uint8_t tag[9] = { [2] = 0x88, [4] = 0x87, [8] = 0x8a };

	aml_byte(b, tag[size]);
	aml_le(b, 3 + 5 * (uint64_t)size, 2);
	aml_byte(b, type);
	aml_byte(b, 0x0c);
	aml_byte(b, tflags);
	aml_le(b, 0, size);             /* granularity */
	aml_le(b, min, size);           /* minimum */
	aml_le(b, max, size);           /* maximum */
	aml_le(b, 0, size);             /* translation offset */
	aml_le(b, max - min + 1, size); /* length */
}

/* The end tag (checksum 0: "treat as if the checksum is valid"). */
void
aml_res_end(struct aml_buf *b)
{
	static const uint8_t d[2] = { 0x79, 0x00 };

	aml_bytes(b, d, sizeof(d));
}

/* Buffer() around the resource template built in 'res'. */
void
aml_res_template(struct aml_buf *b, struct aml_buf *res)
{
	aml_res_end(res);
	if (res->oom)
		b->oom = true;
	else
		aml_buffer(b, res->data, res->len);
	aml_free(res);
}

int
aml_finish(const struct aml_buf *b)
{
	return b->oom ? -1 : 0;
}
