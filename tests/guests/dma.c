/*
 * dma: a device writes into guest memory.  Asks dma-testdev (ports
 * 0xe8-0xef) for transfers of host-random bytes into a buffer, polls the
 * status until each is done, and prints a checksum of what arrived.  A
 * replay has to write the same bytes at the same point: they come from
 * the trace.
 */
#include "guest.h"

#define DMA_ADDR   0xe8
#define DMA_CTL    0xec
#define DMA_ROUNDS 4

static uint8_t buf[4096] __attribute__((aligned(4096)));

int
guest_main(void)
{
	for (int round = 0; round < DMA_ROUNDS; round++) {
		uint32_t len = 1024u << (round % 3), sum = 0;
		int nonzero = 0;

		memset(buf, 0, sizeof(buf));
		outl(DMA_ADDR, (uint32_t)(uintptr_t)buf);
		outl(DMA_CTL, len);
		while (inl(DMA_CTL) != 0)
			;
		for (uint32_t i = 0; i < len; i++) {
			sum = sum * 31 + buf[i];
			nonzero += buf[i] != 0;
		}
		/* 1 KiB or more of random bytes, all zero: nothing came. */
		GUEST_ASSERT(nonzero > 0);
		/* Nothing beyond the transfer. */
		for (uint32_t i = len; i < sizeof(buf); i++)
			GUEST_ASSERT_EQ(buf[i], 0);
		guest_printf("dma %d: %u bytes, checksum %08x\n", round, len,
			     sum);
	}
	guest_printf("dma: ok\n");
	return 0;
}
