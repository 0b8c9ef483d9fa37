/*
 * The /init of the initramfs that tests/linux/run-linux-interp.sh boots
 * Debian's kernel into: it says it reached user space and how many CPUs
 * the kernel brought up, then powers the machine off (ACPI S5: rhyve
 * exits with status 1).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

int
main(void)
{
	char line[256];
	int cpus = 0;
	FILE *f;

	if (mount("proc", "/proc", "proc", 0, NULL) != 0)
		perror("rhyve-init: mount /proc");
	f = fopen("/proc/cpuinfo", "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "processor", 9) == 0)
			cpus++;
	printf("rhyve-init: user space with %d cpus\n", cpus);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	perror("rhyve-init: reboot");
	return 1;
}
