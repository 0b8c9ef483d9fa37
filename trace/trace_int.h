/*
 * trace internals shared by the writer and the reader: on-disk constants
 * (docs/trace-format.md is the normative description), the varint
 * primitives, the per-frame delta state and the event codec, the frame
 * header and the footer index.  Not part of the public API; tests include
 * it to build damaged and hand-made frames.
 */
#ifndef RHYVE_TRACE_TRACE_INT_H
#define RHYVE_TRACE_TRACE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zstd.h>

#include "trace.h"

/* ---- file layout ------------------------------------------------------ */

#define TRACE_FILE_MAGIC      "RHYVETRC"
#define TRACE_FILE_FIXED      16 /* magic, major, minor, body_len */
#define TRACE_MAX_HEADER_BODY (16u << 20)

#define TRACE_FRAME_MAGIC     "RFRM"
#define TRACE_FRAME_HDR       32
#define TRACE_FRAME_EVENTS    1
#define TRACE_FRAME_FOOTER    2
#define TRACE_FRAME_F_CKPT    0x01 /* the frame holds a CKPT_BEGIN */
/* A corrupted length must not make the reader allocate without bound. */
#define TRACE_MAX_PAYLOAD                                                      \
	(TRACE_MAX_FRAME_RAW + (TRACE_MAX_FRAME_RAW >> 7) + 4096)

#define TRACE_TRAILER_MAGIC "RHYVEIDX"
#define TRACE_TRAILER       16

/* Kind byte: bit 7 a vCPU id follows, bit 6 a time delta follows. */
#define TRACE_KB_VCPU 0x80
#define TRACE_KB_TIME 0x40
#define TRACE_KB_KIND 0x3f
#define TRACE_KB_EXT  63 /* extension event: kind, length, body */
/* Extension kinds of minor versions (>= 64) and the API kind they are. */
#define TRACE_EXT_SCHED 64 /* 1.1: TRACE_EV_SCHED */

/* Largest prologue: every vCPU with an exit count. */
#define TRACE_MAX_PROLOGUE (5 + TRACE_MAX_VCPUS * 15)

/* ---- little-endian fixed-width helpers -------------------------------- */

static inline void
trace_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void
trace_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static inline void
trace_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static inline uint16_t
trace_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
trace_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
trace_get64(const uint8_t *p)
{
	return (uint64_t)trace_get32(p) | (uint64_t)trace_get32(p + 4) << 32;
}

/* ---- varints ---------------------------------------------------------- */

#define TRACE_VARINT_MAX 10

/* Unsigned LEB128; returns the bytes written (1..10). */
static inline size_t
trace_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline uint64_t
trace_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
trace_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/*
 * A bounded input: every get checks the end and sets 'bad' with a reason
 * instead of reading past it, so one check after a whole event suffices.
 */
struct trace_in {
	const uint8_t *p, *end;
	const char *bad; /* first problem, or NULL */
};

uint64_t trace_in_varint_slow(struct trace_in *in);

static inline uint64_t
trace_in_varint(struct trace_in *in)
{
	if (in->p < in->end && *in->p < 0x80)
		return *in->p++;
	return trace_in_varint_slow(in);
}

static inline uint8_t
trace_in_byte(struct trace_in *in)
{
	if (in->p >= in->end) {
		if (!in->bad)
			in->bad = "event runs past the end of the frame";
		return 0;
	}
	return *in->p++;
}

/* 'n' bytes in place, or NULL (and 'bad') if fewer remain. */
static inline const uint8_t *
trace_in_bytes(struct trace_in *in, uint64_t n)
{
	const uint8_t *p = in->p;

	if (n > (uint64_t)(in->end - in->p)) {
		if (!in->bad)
			in->bad = "event runs past the end of the frame";
		in->p = in->end;
		return NULL;
	}
	in->p += n;
	return p;
}

/* ---- per-frame delta state -------------------------------------------- */

/*
 * Exit sites (docs/trace-format.md, "Exit sites"): per vCPU, the
 * TRACE_SITES most recently used (rip, exit code, instruction length)
 * triples, most recent first.  An EXIT at a remembered site names its slot
 * instead of spelling the triple out, and the access and instruction that
 * follow an exit are coded against what followed the last exit at the
 * same site.
 */
#define TRACE_SITES 15 /* slots 1..15 keep the EXIT head in one byte */

/* EXIT head: bits 1..0 info count, bit 2 message, bits 6..3 site code. */
#define TRACE_EXIT_NINFO      0x03
#define TRACE_EXIT_MSG        0x04
#define TRACE_EXIT_SITE_SHIFT 3

/*
 * DECODE lenflags: bits 3..0 length, bits 5..4 reserved, bit 6 the same
 * instruction as the current site's (no length, no bytes), bit 7 text.
 */
#define TRACE_DEC_LEN  0x0f
#define TRACE_DEC_RSVD 0x30
#define TRACE_DEC_SAME 0x40
#define TRACE_DEC_TEXT 0x80

struct trace_insn {
	uint8_t len;
	uint8_t bytes[15];
};

struct trace_site {
	uint64_t rip;
	uint64_t gpa;   /* last MMIO gpa after an exit here */
	uint64_t value; /* last MMIO value after an exit here */
	uint32_t exitcode;
	uint16_t port; /* last PIO port after an exit here */
	uint8_t inst_length;
	struct trace_insn insn; /* last DECODE after an exit here */
};

/*
 * What the codec remembers between events of one frame.  It is reset at
 * every frame start so that each frame decodes on its own.  Per-vCPU
 * entries carry the generation they were last written in; an entry of an
 * older generation reads as empty, which makes the reset O(1).
 */
struct trace_vstate {
	uint64_t rip;           /* last EXIT rip */
	uint64_t gpa;           /* last MMIO gpa */
	uint64_t value;         /* last MMIO value */
	uint64_t tsc;           /* last TSC value */
	uint64_t ticks;         /* time of the vCPU's previous event */
	uint32_t gen;           /* valid when == codec gen */
	uint16_t port;          /* last PIO port */
	uint8_t nsites;         /* slots in use */
	struct trace_insn insn; /* last DECODE */
	/* Slot k + 1 is site[order[k]]: move to front moves these bytes. */
	uint8_t order[TRACE_SITES];
	struct trace_site site[TRACE_SITES];
};

struct trace_codec {
	uint32_t gen;
	uint32_t vcpu;  /* current vCPU */
	uint64_t ticks; /* time of the previous event (any vCPU), in ticks */
	struct trace_vstate v[TRACE_MAX_VCPUS];
};

/* The state of 'vcpu' in this frame (emptied on first use). */
static inline struct trace_vstate *
trace_vs(struct trace_codec *c, uint32_t vcpu)
{
	struct trace_vstate *vs = &c->v[vcpu];

	if (vs->gen != c->gen) {
		/* The slots beyond nsites are never read. */
		memset(vs, 0, offsetof(struct trace_vstate, order));
		vs->gen = c->gen;
	}
	return vs;
}

/* The site in slot k + 1 (k < nsites). */
static inline struct trace_site *
trace_site_at(struct trace_vstate *vs, unsigned k)
{
	return &vs->site[vs->order[k]];
}

/*
 * The access and instruction of an exit are coded against the vCPU's
 * current site (slot 1, the site of its latest EXIT in this frame), or
 * against the vCPU's own last values while it has none.
 */
static inline uint16_t *
trace_acc_port(struct trace_vstate *vs)
{
	return vs->nsites ? &trace_site_at(vs, 0)->port : &vs->port;
}

static inline uint64_t *
trace_acc_gpa(struct trace_vstate *vs)
{
	return vs->nsites ? &trace_site_at(vs, 0)->gpa : &vs->gpa;
}

static inline uint64_t *
trace_acc_value(struct trace_vstate *vs)
{
	return vs->nsites ? &trace_site_at(vs, 0)->value : &vs->value;
}

static inline struct trace_insn *
trace_acc_insn(struct trace_vstate *vs)
{
	return vs->nsites ? &trace_site_at(vs, 0)->insn : &vs->insn;
}

/* Move slot k + 1 to the front (slot 1). */
static inline void
trace_site_use(struct trace_vstate *vs, unsigned k)
{
	uint8_t i = vs->order[k];

	memmove(&vs->order[1], &vs->order[0], k);
	vs->order[0] = i;
}

/*
 * A new site in slot 1 (the others move down, the last falls out when the
 * table is full); its access fields start from the vCPU's last values.
 */
static inline void
trace_site_add(struct trace_vstate *vs, uint64_t rip, uint32_t exitcode,
	       uint8_t inst_length)
{
	unsigned n = vs->nsites;
	uint8_t i = (uint8_t)n;

	if (n == TRACE_SITES)
		i = vs->order[--n]; /* the least recently used goes */
	memmove(&vs->order[1], &vs->order[0], n);
	vs->order[0] = i;
	vs->nsites = (uint8_t)(n + 1);
	vs->site[i] = (struct trace_site){ .rip = rip,
					   .gpa = vs->gpa,
					   .value = vs->value,
					   .exitcode = exitcode,
					   .port = vs->port,
					   .inst_length = inst_length,
					   .insn = vs->insn };
}

void trace_codec_init(struct trace_codec *c);
/* Forget everything: the next event is the first of a frame. */
void trace_codec_reset(struct trace_codec *c);

/*
 * Upper bound of the encoded size of 'ev', or 0 with *why set when the
 * writer must refuse it (bad kind, field out of range, too large).
 */
size_t trace_event_bound(const struct trace_event *ev, const char **why);
/*
 * Encode 'ev' at 'out' (trace_event_bound() bytes available) with time
 * 'ticks'; returns the bytes written.
 */
size_t trace_event_encode(struct trace_codec *c, const struct trace_event *ev,
			  uint64_t ticks, uint8_t *out);

/* Reader-side scratch for NUL-terminated strings and register lists. */
struct trace_scratch {
	uint8_t *buf;
	size_t len, cap;
};

/*
 * Decode one event.  Returns 1 with *ev filled (ev->index untouched), 0
 * for an extension event this reader does not know (skipped), -1 on
 * damage with in->bad set.  'exits' are the per-vCPU exit counters;
 * 'tick_ns' scales the time.
 */
int trace_event_decode(struct trace_codec *c, struct trace_in *in,
		       struct trace_event *ev, struct trace_scratch *s,
		       uint64_t *exits, uint64_t tick_ns);

/*
 * The frame prologue: per-vCPU exit counts at the frame start, for vCPUs
 * below 'nvcpu' whose count is not zero.
 */
size_t trace_prologue_encode(uint8_t *out, const uint64_t *exits,
			     uint32_t nvcpu);
int trace_prologue_decode(struct trace_in *in, uint64_t *exits);

/* ---- frames ------------------------------------------------------------ */

struct trace_frame_hdr {
	uint8_t type;
	uint8_t flags;
	uint32_t payload_len;
	uint32_t raw_len;
	uint64_t first_index;
	uint32_t count;
	uint32_t crc;
};

/* Pack the header (crc left as given) into 32 bytes. */
void trace_frame_hdr_pack(const struct trace_frame_hdr *h, uint8_t *out);
/*
 * Unpack and check what can be checked without the payload: magic, type,
 * reserved bits, length caps.  -1 with a reason in 'why'.
 */
int trace_frame_hdr_parse(const uint8_t *in, struct trace_frame_hdr *h,
			  char *why, size_t whylen);
/* The frame checksum: crc32 over header bytes 0..27 and the payload. */
uint32_t trace_frame_crc(const uint8_t *hdr, const uint8_t *payload,
			 size_t len);

/* ---- header ------------------------------------------------------------ */

/*
 * Build the whole file header (fixed part, body, crc) for 'kv'.  Returns
 * a malloc'd buffer and its size, or NULL with a reason.
 */
uint8_t *trace_header_build(const struct trace_kv *kv, size_t n, size_t *lenp,
			    char *err, size_t errlen);

/* A parsed header: the pairs point into 'text'. */
struct trace_header_info {
	int major, minor;
	uint32_t body_len;
	char *text;
	struct trace_kv *kv;
	size_t nkv;
};

/*
 * Check and parse the header at the start of 'fd'.  Returns 0, or -1 with
 * a one-line reason in err.
 */
int trace_header_read(int fd, uint64_t fsize, struct trace_header_info *hi,
		      char *err, size_t errlen);
void trace_header_free(struct trace_header_info *hi);
/* pread() all of it (EINTR and short reads handled); -1 on error or EOF. */
int trace_pread_all(int fd, void *buf, size_t len, uint64_t off);
const char *trace_kv_find(const struct trace_kv *kv, size_t n, const char *key);

/* ---- the index (footer contents) ---------------------------------------- */

struct trace_frame_ent {
	uint64_t offset;
	uint64_t first_index;
	uint32_t count;
	uint32_t payload_len;
	uint32_t raw_len;
	uint8_t flags;
};

struct trace_ckpt_ent {
	uint64_t id;
	uint64_t index; /* event index of the CKPT_BEGIN */
	uint64_t frame; /* number of the frame holding it */
};

struct trace_index {
	struct trace_frame_ent *frames;
	size_t nframes, frames_cap;
	struct trace_ckpt_ent *ckpts;
	size_t nckpts, ckpts_cap;
	uint64_t per_kind[TRACE_EV_KIND_MAX];
	uint64_t events, raw_bytes, first_ns, last_ns;
};

int trace_index_add_frame(struct trace_index *ix,
			  const struct trace_frame_ent *f);
int trace_index_add_ckpt(struct trace_index *ix,
			 const struct trace_ckpt_ent *c);
void trace_index_free(struct trace_index *ix);

/* The footer payload (uncompressed) for 'ix'; malloc'd. */
uint8_t *trace_footer_encode(const struct trace_index *ix, size_t *lenp);
/*
 * Decode a footer payload and check it against itself and the file
 * ('data_start', 'footer_off': frames must lie between).  -1 with a
 * reason.
 */
int trace_footer_decode(const uint8_t *p, size_t len, uint64_t data_start,
			uint64_t footer_off, struct trace_index *ix, char *why,
			size_t whylen);

/* ---- the reader ------------------------------------------------------ */

#define TRACE_NO_FRAME SIZE_MAX

/* A decoding position: one loaded frame and the delta state inside it. */
struct trace_cursor {
	size_t frame;      /* loaded frame, or TRACE_NO_FRAME */
	size_t next_frame; /* loaded when this one is used up */
	uint8_t *raw;
	size_t raw_cap;
	struct trace_in in;
	uint32_t left;       /* events not yet decoded in the frame */
	uint64_t next_index; /* index of the next event decoded */
	bool done;           /* end or damage reported */
	struct trace_scratch scratch;
	struct trace_codec codec;
	uint64_t exits[TRACE_MAX_VCPUS];
};

struct trace_reader {
	int fd;
	uint64_t size;
	struct trace_header_info hi;
	uint64_t tick_ns;
	uint64_t data_start; /* first frame */
	/*
	 * Frames always; per-kind counts, checkpoints and times only when
	 * 'ix_full' (from a footer, or from a scan of all events).
	 */
	struct trace_index ix;
	bool ix_full;
	uint64_t nevents; /* events in the frames of the index */
	bool has_footer;
	bool tail_damage; /* the index stops at damage */
	bool damaged;
	struct trace_damage damage;
	ZSTD_DCtx *dctx;
	uint8_t *comp;
	size_t comp_cap;
	struct trace_cursor *cur;
	bool ckpts_known; /* ix.ckpts is complete */
};

/* Record damage; 'always' replaces earlier damage, else only the first. */
void trace_set_damage(struct trace_reader *r, uint64_t off, bool always,
		      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Read the frame headers and payloads into r->comp: 0, or -1 on EOF/error. */
int trace_read_frame(struct trace_reader *r, uint64_t off, uint32_t plen);
/* Decompress r->comp's payload of 'h' into 'raw'; NULL or a reason. */
const char *trace_inflate(struct trace_reader *r,
			  const struct trace_frame_hdr *h, uint8_t **raw,
			  size_t *cap);
/* Find the frames: through the footer, or by scanning.  -1: no memory. */
int trace_index_open(struct trace_reader *r);

#endif
