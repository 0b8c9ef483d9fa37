/*
 * Segment descriptors: the 8-byte GDT/LDT encoding <-> base, limit and
 * VMX-style access rights.
 */
#include <stddef.h>

#include "x86.h"

#define ACC_G (1u << 15)

uint64_t
x86_desc_pack(uint32_t base, uint32_t limit, uint32_t access)
{
	if (access & ACC_G)
		limit >>= 12;
	return (uint64_t)(limit & 0xffff) |
	       ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)(access & 0xff) << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)((access >> 12) & 0xf) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

void
x86_desc_unpack(uint64_t desc, uint32_t *base, uint32_t *limit,
		uint32_t *access)
{
	uint32_t lim =
	    (uint32_t)(desc & 0xffff) | (uint32_t)((desc >> 32) & 0xf0000);

	*access =
	    (uint32_t)((desc >> 40) & 0xff) | (uint32_t)((desc >> 40) & 0xf000);
	*base = (uint32_t)((desc >> 16) & 0xffffff) |
		(uint32_t)((desc >> 56) << 24);
	*limit = (*access & ACC_G) ? (lim << 12) | 0xfff : lim;
}

const char *
x86_exception_name(unsigned int vector)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", NULL,
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", NULL,  NULL,
		NULL,  NULL,  NULL,  NULL,  "#HV", "#VC", "#SX", NULL,
	};

	return vector < 32 ? names[vector] : NULL;
}
