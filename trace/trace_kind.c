/*
 * Event kind names, as rhyvetrace prints them and accepts them in
 * filters ("--kind exit,pio").  The names are part of the user interface
 * (and of rhyvetrace's JSON), not of the file format: the file stores the
 * numbers.
 */
#include "trace.h"

static const char *const trace_kind_names[TRACE_EV_KIND_MAX] = {
	[TRACE_EV_EXIT] = "exit",
	[TRACE_EV_PIO] = "pio",
	[TRACE_EV_MMIO] = "mmio",
	[TRACE_EV_DECODE] = "decode",
	[TRACE_EV_INJECT] = "inject",
	[TRACE_EV_DMA] = "dma",
	[TRACE_EV_CPUID] = "cpuid",
	[TRACE_EV_MSR] = "msr",
	[TRACE_EV_TSC] = "tsc",
	[TRACE_EV_RANDOM] = "random",
	[TRACE_EV_INPUT] = "input",
	[TRACE_EV_REGS] = "regs",
	[TRACE_EV_CKPT_BEGIN] = "ckpt_begin",
	[TRACE_EV_CKPT_DEVICE] = "ckpt_device",
	[TRACE_EV_CKPT_PAGES] = "ckpt_pages",
	[TRACE_EV_CKPT_END] = "ckpt_end",
	[TRACE_EV_MARKER] = "marker",
	[TRACE_EV_END] = "end",
	[TRACE_EV_SCHED] = "sched",
};

const char *
trace_kind_name(enum trace_kind kind)
{
	if ((unsigned)kind < TRACE_EV_KIND_MAX && trace_kind_names[kind])
		return trace_kind_names[kind];
	return "unknown";
}

/* Case-insensitive, and '-' matches '_' ("ckpt-begin"). */
static int
trace_kind_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = *a == '-' ? '_' : *a, cb = *b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

enum trace_kind
trace_kind_from_name(const char *name)
{
	if (!name)
		return 0;
	for (int k = 1; k < TRACE_EV_KIND_MAX; k++)
		if (trace_kind_name_eq(name, trace_kind_names[k]))
			return k;
	return 0;
}
