/*
 * The shared CUnit driver: each test file defines its suites with
 * UNIT_SUITE(name, tests...) and cunit_main.c runs them all.
 */
#ifndef RHYVE_TESTS_CUNIT_H
#define RHYVE_TESTS_CUNIT_H

#include <stdbool.h>
#include <CUnit/CUnit.h>

/* Fill in by the test file: a NULL-terminated list of suites. */
struct unit_suite {
	const char *name;
	CU_TestInfo *tests;
};
extern const struct unit_suite unit_suites[];

/*
 * PATH of 'name' in a scratch folder made for this test program and
 * removed with everything in it at exit.  The result is valid until the
 * fourth call after it.
 */
const char *unit_tmp_path(const char *name);

/* True if /dev/kvm can be opened read/write; prints SKIP once if not. */
bool unit_have_kvm(void);

#endif
