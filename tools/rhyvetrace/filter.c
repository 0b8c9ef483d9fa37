/*
 * Names (exit reasons, injection types, registers, event kinds) and the
 * event filters of 'dump'.  Values come from an untrusted file: every
 * name lookup has an answer for out-of-range numbers.
 */
#include <inttypes.h>
#include <string.h>

#include "rhyvetrace.h"
#include "vmm.h"

/* ---- names ------------------------------------------------------------- */

/* Exit reasons and registers are named by kmod (vmm.h). */
const char *
rt_exit_name(uint32_t exitcode)
{
	return vm_exitcode_name(exitcode);
}

static const char *
reg_name(uint64_t reg)
{
	return reg < VM_REG_LAST ? vm_reg_name((int)reg) : "?";
}

static const char *
suspend_name(uint64_t how)
{
	switch (how) {
	case VM_SUSPEND_RESET:
		return "reset";
	case VM_SUSPEND_POWEROFF:
		return "poweroff";
	case VM_SUSPEND_HALT:
		return "halt";
	case VM_SUSPEND_TRIPLEFAULT:
		return "triplefault";
	}
	return NULL;
}

const char *
rt_exit_info_name(uint32_t exitcode, unsigned i)
{
	static const char *const names[VM_EXITCODE_MAX][3] = {
		[VM_EXITCODE_HLT] = { "rflags" },
		[VM_EXITCODE_SUSPENDED] = { "how" },
		[VM_EXITCODE_DEBUG] = { "dr6" },
		[VM_EXITCODE_ENGINE_ERROR] = { "error_reason", "suberror" },
		[VM_EXITCODE_RDMSR] = { "msr" },
		[VM_EXITCODE_WRMSR] = { "msr" },
	};

	if (exitcode >= VM_EXITCODE_MAX || i >= 3)
		return NULL;
	return names[exitcode][i];
}

size_t
rt_exit_info(const struct trace_event *ev, struct rt_field f[3])
{
	static const char *const raw[3] = { "info0", "info1", "info2" };
	const uint64_t *info = ev->u.exit.info;
	size_t n = 0;

	/* Named fields always (a HLT's rflags may be 0), others if set. */
	for (unsigned i = 0; i < 3; i++) {
		const char *name = rt_exit_info_name(ev->u.exit.exitcode, i);

		if (name != NULL)
			f[n++] = (struct rt_field){ name, info[i], NULL };
		else if (info[i] != 0)
			f[n++] = (struct rt_field){ raw[i], info[i], NULL };
	}
	if (ev->u.exit.exitcode == VM_EXITCODE_SUSPENDED && n > 0)
		f[0].text = suspend_name(info[0]);
	return n;
}

const char *
rt_kind_name(enum trace_kind kind)
{
	const char *s = trace_kind_name(kind);

	return s != NULL ? s : "unknown";
}

const char *
rt_inject_type_name(uint8_t type)
{
	switch (type) {
	case TRACE_INJECT_EXTINT:
		return "extint";
	case TRACE_INJECT_NMI:
		return "nmi";
	case TRACE_INJECT_EXCEPTION:
		return "exception";
	case TRACE_INJECT_SOFTINT:
		return "softint";
	case TRACE_INJECT_INIT:
		return "init";
	case TRACE_INJECT_SIPI:
		return "sipi";
	}
	return "unknown";
}

void
rt_reg_name(uint64_t id, char *buf, size_t len)
{
	static const char *const parts[4] = { "base", "limit", "access", "?" };

	if (id < VM_REG_LAST) {
		snprintf(buf, len, "%s", reg_name(id));
	} else if (id >= 0x100 && id < 0x100 + VM_REG_LAST * 4ULL) {
		uint64_t r = (id - 0x100) / 4;

		snprintf(buf, len, "%s.%s", reg_name(r),
			 parts[(id - 0x100) % 4]);
	} else if ((id >> 32) == 1) {
		snprintf(buf, len, "msr:0x%" PRIx32, (uint32_t)id);
	} else {
		snprintf(buf, len, "reg:0x%" PRIx64, id);
	}
}

/* ---- filters ----------------------------------------------------------- */

void
rt_filter_init(struct rt_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->to = UINT64_MAX;
}

bool
rt_filter_kinds(struct rt_filter *f, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char name[32];
		enum trace_kind k;

		if (n == 0 || n >= sizeof(name)) {
			rt_usage_error("dump", "bad --kind list '%s'", list);
			return false;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		k = trace_kind_from_name(name);
		if (k == 0 || k >= TRACE_EV_KIND_MAX) {
			char known[512] = "";
			size_t used = 0;

			for (int i = 1; i < TRACE_EV_KIND_MAX; i++) {
				int w =
				    snprintf(known + used, sizeof(known) - used,
					     "%s%s", i > 1 ? "," : "",
					     rt_kind_name((enum trace_kind)i));
				if (w < 0 || (size_t)w >= sizeof(known) - used)
					break;
				used += (size_t)w;
			}
			rt_usage_error("dump", "unknown event kind '%s' (%s)",
				       name, known);
			return false;
		}
		f->kinds |= 1ULL << k;
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

/* [a, a+len) meets [lo, hi]; len 0 is treated as the single address a. */
static bool
overlaps(uint64_t a, uint64_t len, uint64_t lo, uint64_t hi)
{
	uint64_t last = len == 0 ? a : a + (len - 1);

	if (last < a) /* wrapped: the file lies; still compare sanely */
		last = UINT64_MAX;
	return a <= hi && last >= lo;
}

bool
rt_filter_match(const struct rt_filter *f, const struct trace_event *ev)
{
	if (f->kinds != 0 &&
	    ((unsigned)ev->kind >= 64 || !(f->kinds & (1ULL << ev->kind))))
		return false;
	if (f->has_vcpu && ev->vcpu != f->vcpu)
		return false;
	if (ev->index < f->from || ev->index > f->to)
		return false;
	if (f->has_port &&
	    !(ev->kind == TRACE_EV_PIO && ev->u.pio.port >= f->port_lo &&
	      ev->u.pio.port <= f->port_hi))
		return false;
	if (f->has_rip &&
	    !(ev->kind == TRACE_EV_EXIT && ev->u.exit.rip >= f->rip_lo &&
	      ev->u.exit.rip <= f->rip_hi))
		return false;
	if (f->has_addr) {
		switch (ev->kind) {
		case TRACE_EV_MMIO:
			return overlaps(ev->u.mmio.gpa, ev->u.mmio.bytes,
					f->addr_lo, f->addr_hi);
		case TRACE_EV_DMA:
			return overlaps(ev->u.dma.gpa, ev->u.dma.len,
					f->addr_lo, f->addr_hi);
		case TRACE_EV_CKPT_PAGES:
			return overlaps(ev->u.ckpt_pages.gpa,
					(uint64_t)ev->u.ckpt_pages.npages *
					    4096,
					f->addr_lo, f->addr_hi);
		default:
			return false;
		}
	}
	return true;
}
