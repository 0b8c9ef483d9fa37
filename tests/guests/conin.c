/*
 * conin: console input.  Reads what the host types into COM1 (polling the
 * line status register) until a newline or 2 s of PM timer without
 * input, and echoes it.  The test feeds a line on stdin when recording;
 * the replay has no input at all and must print the same.
 */
#include "guest.h"
#include "pc.h"

#define UART_RBR 0
#define UART_LSR 5
#define LSR_DR   0x01

int
guest_main(void)
{
	char line[80];
	size_t n = 0;
	uint64_t idle_since = pm_now();

	guest_printf("conin: type a line\n");
	while (n < sizeof(line) - 1) {
		if (!(inb(COM1_PORT + UART_LSR) & LSR_DR)) {
			/*
			 * The host types when it likes: 30 s for the first
			 * byte (on the interp engine's virtual time this loop
			 * runs faster than the host's clock), 2 s between
			 * the bytes of a line.
			 */
			if (pm_to_us(pm_now() - idle_since) >
			    (n == 0 ? 30000000 : 2000000))
				break;
			continue;
		}
		line[n] = (char)inb(COM1_PORT + UART_RBR);
		if (line[n] == '\n')
			break;
		n++;
		idle_since = pm_now();
	}
	line[n] = '\0';
	guest_printf("conin: got \"%s\"\n", line);
	GUEST_ASSERT(n > 0);
	guest_printf("conin: ok\n");
	return 0;
}
