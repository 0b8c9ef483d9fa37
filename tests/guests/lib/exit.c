/*
 * Leaving the VM: the pc-testdev debug-exit port, and assertion failures.
 */
#include "guest.h"

void
guest_exit(int code)
{
	outb(DEBUG_EXIT_PORT, (uint8_t)code);
	/*
	 * Still here: nobody listens on the debug-exit port.  Halt with
	 * interrupts off, which rhyve reports as status 2 (halt).
	 */
	guest_puts("guest: debug-exit port did not stop the VM, halting\n");
	for (;;) {
		cli();
		hlt();
	}
}

void
guest_assert_fail(const char *file, int line, const char *expr)
{
	guest_printf("ASSERTION FAILED: %s:%d: %s\n", file, line, expr);
	guest_exit(GUEST_EXIT_FAIL);
}

void
guest_assert_eq_fail(const char *file, int line, const char *a, const char *b,
		     uint64_t va, uint64_t vb)
{
	guest_printf("ASSERTION FAILED: %s:%d: %s == %s (0x%llx != 0x%llx)\n",
		     file, line, a, b, (unsigned long long)va,
		     (unsigned long long)vb);
	guest_exit(GUEST_EXIT_FAIL);
}
