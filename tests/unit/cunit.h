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

/* True if /dev/kvm can be opened read/write; prints SKIP once if not. */
bool unit_have_kvm(void);

#endif
