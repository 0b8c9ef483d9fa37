/*
 * apic_ckpt: the local APIC in x2APIC mode for the whole run, its timer
 * periodic, for replays that start at a later checkpoint
 * (tests/replay/from-checkpoint.sh).  Such a replay must load the APIC's
 * state from the checkpoint (x2APIC mode, LDR, the LVT, the timer):
 * without it the replay's first x2APIC MSR access would #GP where the
 * recording's did not.  The run: x2APIC on, the timer at 1 kHz; 400
 * self-IPIs through the SELF IPI MSR, each taken and EOI'd through MSRs,
 * until the timer has fired 60 times; then the timer is stopped.
 */
#include "guest.h"
#include "pc.h"

#define MSR_APICBASE 0x1b
#define APICBASE_EXT 0x400ULL
#define X2_ID        0x802
#define X2_TPR       0x808
#define X2_PPR       0x80a
#define X2_EOI       0x80b
#define X2_LDR       0x80d
#define X2_SVR       0x80f
#define X2_ISR0      0x810
#define X2_LVTT      0x832
#define X2_TICR      0x838
#define X2_TDCR      0x83e
#define X2_SELF      0x83f
#define LVT_MASKED   0x10000u
#define LVTT_PERIOD  0x20000u
#define BUS_HZ       (128ULL * 1024 * 1024)

#define V_SELF       0x48
#define V_TIMER      0x68
#define NSELF        400
#define NTIMER       60

static volatile int selfs, timers;

static void
on_self(struct guest_trap_frame *tf)
{
	(void)tf;
	/* In service while the handler runs; PPR is its class. */
	GUEST_ASSERT(rdmsr(X2_ISR0 + V_SELF / 32) & (1u << (V_SELF % 32)));
	GUEST_ASSERT_EQ(rdmsr(X2_PPR), V_SELF & 0xf0);
	selfs++;
	wrmsr(X2_EOI, 0);
}

static void
on_timer(struct guest_trap_frame *tf)
{
	(void)tf;
	if (++timers == NTIMER)
		wrmsr(X2_LVTT, LVT_MASKED | LVTT_PERIOD | V_TIMER);
	wrmsr(X2_EOI, 0);
}

int
guest_main(void)
{
	int sent = 0;
	uint64_t end;

	cli();
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	guest_set_trap_handler(V_SELF, on_self);
	guest_set_trap_handler(V_TIMER, on_timer);
	wrmsr(MSR_APICBASE, rdmsr(MSR_APICBASE) | APICBASE_EXT);
	GUEST_ASSERT_EQ(rdmsr(X2_ID), 0);
	GUEST_ASSERT_EQ(rdmsr(X2_LDR), 1); /* cluster 0, bit 0 */
	wrmsr(X2_SVR, 0x1ff);
	wrmsr(X2_TPR, 0);
	wrmsr(X2_TDCR, 0xb); /* divide by 1 */
	wrmsr(X2_LVTT, LVTT_PERIOD | V_TIMER);
	wrmsr(X2_TICR, BUS_HZ / 1000);
	guest_printf("apic_ckpt: x2APIC on, timer at 1 kHz\n");
	while (timers < NTIMER || sent < NSELF) {
		if (sent < NSELF) {
			wrmsr(X2_SELF, V_SELF);
			sent++;
		}
		/* Taken once interrupts are on (PM timer reads exit too). */
		end = pm_now() + us_to_pm(200000);
		sti();
		while (selfs != sent && pm_now() < end)
			;
		pm_delay_us(50);
		cli();
		GUEST_ASSERT_EQ(selfs, sent);
	}
	wrmsr(X2_TICR, 0);
	GUEST_ASSERT_EQ(rdmsr(X2_LVTT), LVT_MASKED | LVTT_PERIOD | V_TIMER);
	guest_printf("apic_ckpt: %d self-IPIs, %d timer interrupts\n", selfs,
		     timers);
	return 0;
}
