/* The helpers of trace_util.h. */
#include <stdio.h>

#include "trace_util.h"

struct trace_reader *
unit_trace_open(const char *path)
{
	char err[256];
	struct trace_reader *r = trace_open(path, err, sizeof(err));

	if (!r)
		printf("trace_open: %s\n", err);
	return r;
}
