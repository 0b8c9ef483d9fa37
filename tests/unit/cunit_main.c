/* Runs the suites a test file declares in unit_suites[] with CUnit. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit.h"

static char tmpdir[64];

static void
remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char p[sizeof(tmpdir) + 260];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

const char *
unit_tmp_path(const char *name)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];

	if (tmpdir[0] == '\0') {
		strcpy(tmpdir, "/tmp/rhyve-unit-XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			abort();
		atexit(remove_tmpdir);
	}
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

bool
unit_have_kvm(void)
{
	static int have = -1;
	int fd;

	if (have < 0) {
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		have = fd >= 0;
		if (fd >= 0)
			close(fd);
		else
			printf("SKIP: /dev/kvm is not usable here; "
			       "kvm tests skipped\n");
	}
	return have;
}

int
main(void)
{
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (const struct unit_suite *s = unit_suites; s->name; s++) {
		CU_pSuite suite = CU_add_suite(s->name, NULL, NULL);

		for (CU_TestInfo *t = s->tests; t->pName; t++)
			CU_add_test(suite, t->pName, t->pTestFunc);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
