/* Shared by the trace file tests (test_trace.c, test_trace_damage.c). */
#ifndef RHYVE_TESTS_TRACE_UTIL_H
#define RHYVE_TESTS_TRACE_UTIL_H

#include "trace.h"

/* trace_open() that prints the library's error where it fails. */
struct trace_reader *unit_trace_open(const char *path);

#endif
