/*
 * smp_race: four vCPUs (-c 4) racing on shared memory while their local
 * APIC timers interrupt them and they send each other IPIs -- the guest
 * whose run depends on how the vCPUs' instructions interleave, for the
 * interp engine's deterministic SMP (issue 8):
 *   - every vCPU runs ROUNDS rounds of: an atomic increment (LOCK XADD)
 *     of a shared counter that also claims a slot of a shared log, where
 *     it writes its id; a plain read-modify-write of another shared
 *     counter (a race: increments get lost depending on the
 *     interleaving); and a stretch of computation with no exit;
 *   - each vCPU's APIC timer (periodic, ~50 us) interrupts it all along;
 *     the handler counts and races on a third shared counter;
 *   - every 64 rounds a vCPU sends an IPI to the next one.
 * The BSP checks what is exact on any engine (the atomic counter, every
 * log slot written once, IPIs and timer ticks arrived -- IPIs of one
 * vector merge while one is pending, so not all of them) and prints the
 * racy values and a hash of the log.  Those depend on the interleaving:
 * a replay on interp must print the same bytes, and so must another run.
 */
#include "guest.h"
#include "pc.h"
#include "smp.h"

#define NCPUS       4
#define ROUNDS      2000
#define V_TIMER     0x41
#define V_IPI       0x42

#define APIC_LVTT   0x320
#define APIC_TICR   0x380
#define APIC_TDCR   0x3e0
#define LVTT_PERIOD 0x20000u
/* 128 MHz bus / 16: 8 MHz; 400 counts = 50 us. */
#define TIMER_COUNT 400

static volatile uint32_t checked_in[NCPUS];
static volatile uint32_t go;
static volatile uint32_t finished[NCPUS];
static volatile uint32_t ticks[NCPUS];
static volatile uint32_t ipis[NCPUS];
static volatile uint32_t atomic_count;
static volatile uint32_t racy_count;
static volatile uint32_t racy_ticks;
static volatile uint8_t order[NCPUS * ROUNDS];
static volatile uint64_t work[NCPUS];

static void
on_timer(struct guest_trap_frame *tf)
{
	(void)tf;
	ticks[apic_id()]++;
	racy_ticks = racy_ticks + 1;
	apic_write(APIC_EOI, 0);
}

static void
on_ipi(struct guest_trap_frame *tf)
{
	(void)tf;
	ipis[apic_id()]++;
	apic_write(APIC_EOI, 0);
}

static uint32_t
fetch_add(volatile uint32_t *p, uint32_t v)
{
	__asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

/* What every vCPU runs, the BSP too. */
static void
race(uint32_t id)
{
	uint64_t x = id + 1;

	apic_write(APIC_TDCR, 0x3); /* divide by 16 */
	apic_write(APIC_LVTT, LVTT_PERIOD | V_TIMER);
	apic_write(APIC_TICR, TIMER_COUNT);
	sti();
	for (uint32_t r = 0; r < ROUNDS; r++) {
		uint32_t slot = fetch_add(&atomic_count, 1);
		uint32_t v;

		order[slot] = (uint8_t)(id + 1);
		v = racy_count;
		for (int i = 0; i < 50; i++) /* widen the window */
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		racy_count = v + 1;
		if (r % 64 == 63)
			smp_send_ipi((id + 1) % NCPUS, V_IPI);
	}
	work[id] = x;
	cli();
	apic_write(APIC_TICR, 0);
	finished[id] = 1;
}

void
ap_main(void)
{
	uint32_t id = apic_id();

	GUEST_ASSERT(id > 0 && id < NCPUS);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	checked_in[id] = 1;
	while (!go)
		__asm__ volatile("pause");
	race(id);
}

int
guest_main(void)
{
	uint64_t hash = 1469598103934665603ULL;
	uint32_t seen[NCPUS + 1] = { 0 };

	GUEST_ASSERT_EQ(apic_id(), 0);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	guest_set_trap_handler(V_TIMER, on_timer);
	guest_set_trap_handler(V_IPI, on_ipi);
	smp_setup();
	for (uint32_t id = 1; id < NCPUS; id++)
		smp_start_ap(id);
	for (uint32_t id = 1; id < NCPUS; id++)
		GUEST_ASSERT(smp_wait_for(&checked_in[id], 1));
	go = 1;
	race(0);
	for (uint32_t id = 1; id < NCPUS; id++)
		GUEST_ASSERT(smp_wait_for(&finished[id], 1));

	/* Exact on any engine. */
	GUEST_ASSERT_EQ(atomic_count, NCPUS * ROUNDS);
	for (uint32_t i = 0; i < NCPUS * ROUNDS; i++) {
		GUEST_ASSERT(order[i] >= 1 && order[i] <= NCPUS);
		seen[order[i]]++;
		hash = (hash ^ order[i]) * 1099511628211ULL;
	}
	for (uint32_t id = 0; id < NCPUS; id++) {
		GUEST_ASSERT_EQ(seen[id + 1], ROUNDS);
		GUEST_ASSERT(ticks[id] > 0);
		/* Fixed IPIs of one vector merge while one is pending. */
		GUEST_ASSERT(ipis[id] > 0 && ipis[id] <= ROUNDS / 64);
	}
	GUEST_ASSERT(racy_count >= ROUNDS && racy_count <= NCPUS * ROUNDS);

	/* What the interleaving decided. */
	guest_printf("smp_race: racy counter %u of %u, racy ticks %u\n",
		     racy_count, NCPUS * ROUNDS, racy_ticks);
	guest_printf("smp_race: ticks %u %u %u %u, IPIs %u %u %u %u\n",
		     ticks[0], ticks[1], ticks[2], ticks[3], ipis[0], ipis[1],
		     ipis[2], ipis[3]);
	guest_printf("smp_race: order hash %lx, work %lx\n",
		     (unsigned long)hash,
		     (unsigned long)(work[0] ^ work[1] ^ work[2] ^ work[3]));
	guest_printf("smp_race: ok\n");
	return 0;
}
