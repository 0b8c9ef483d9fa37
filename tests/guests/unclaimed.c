/*
 * unclaimed: ports no device claims read as all-ones at every width, plain
 * and string, and writes to them are ignored.
 */
#include "guest.h"

static const uint16_t ports[] = { 0x3333, 0x7000, 0x7ffe, 0xfff0 };

int
guest_main(void)
{
	uint8_t b[8];
	uint16_t w[8];
	uint32_t l[8];
	size_t i;
	int j;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		uint16_t p = ports[i];

		GUEST_ASSERT_EQ(inb(p), 0xff);
		GUEST_ASSERT_EQ(inw(p), 0xffff);
		GUEST_ASSERT_EQ(inl(p), 0xffffffff);
		GUEST_ASSERT_EQ(inb(p + 1), 0xff);
		GUEST_ASSERT_EQ(inw(p + 1), 0xffff);

		/* Writes go nowhere. */
		outb(p, 0);
		outw(p, 0);
		outl(p, 0);
		GUEST_ASSERT_EQ(inl(p), 0xffffffff);

		memset(b, 0, sizeof(b));
		memset(w, 0, sizeof(w));
		memset(l, 0, sizeof(l));
		insb(p, b, 8);
		insw(p, w, 8);
		insl(p, l, 8);
		for (j = 0; j < 8; j++) {
			GUEST_ASSERT_EQ(b[j], 0xff);
			GUEST_ASSERT_EQ(w[j], 0xffff);
			GUEST_ASSERT_EQ(l[j], 0xffffffff);
		}
		outsl(p, l, 8);
	}
	guest_printf("unclaimed: ok\n");
	return 0;
}
