/*
 * cpuid: the CPU rhyve presents, read by the BSP.  The test runs it with
 *
 *   -c cpus=4,sockets=1,cores=2,threads=2
 *
 * and checks the vendor and max leaf (leaf 0), the APIC ID and logical
 * processor count (leaf 1), the SMT and core levels of leaf 0xB (and
 * 0x1F, 4, AMD's 0x80000008/0x8000001E where the vendor has them), the
 * hypervisor bit and rhyve's hypervisor leaf.  cpuid_det.c builds the
 * same checks for a --deterministic run: RDTSCP and the invariant TSC
 * hidden (TSC, TSC-deadline, RDRAND, RDSEED and RDPID are reported where
 * the host shows them, see host_bits); an ordinary run must show TSC
 * (every x86-64 host has it).
 */
#include "guest.h"

#ifndef CPUID_DETERMINISTIC
#define CPUID_DETERMINISTIC 0
#endif

#define THREADS 2
#define CORES   2

struct regs {
	uint32_t a, b, c, d;
};

static struct regs
cpuid(uint32_t leaf, uint32_t sub)
{
	struct regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d)
			 : "a"(leaf), "c"(sub));
	return r;
}

static bool
is_vendor(const struct regs *r, const char *name)
{
	char v[12];

	memcpy(v, &r->b, 4);
	memcpy(v + 4, &r->d, 4);
	memcpy(v + 8, &r->c, 4);
	return memcmp(v, name, 12) == 0;
}

int
guest_main(void)
{
	struct regs r0 = cpuid(0, 0), r, ext;
	/*
	 * On the PVM hosts of this workplace, leaf 1 ECX/EDX and leaf 7
	 * reach the guest from the host whatever rhyve's table says (leaf 1
	 * EBX and the other leaves follow it): the deterministic bits there
	 * are reported, not asserted; the extended leaves' are asserted.
	 */
	const char *host_bits = NULL;
	bool amd, intel;
	uint32_t apic_id;

	/* Leaf 0: a vendor this engine runs on, 0xB reachable. */
	amd = is_vendor(&r0, "AuthenticAMD") || is_vendor(&r0, "HygonGenuine");
	intel = is_vendor(&r0, "GenuineIntel");
	GUEST_ASSERT(amd || intel);
	GUEST_ASSERT(r0.a >= 0xb);

	/* Leaf 1: APIC ID 0 (the BSP), 4 logical CPUs, hypervisor. */
	r = cpuid(1, 0);
	apic_id = r.b >> 24;
	GUEST_ASSERT_EQ(apic_id, 0);
	GUEST_ASSERT_EQ((r.b >> 16) & 0xff, THREADS * CORES);
	GUEST_ASSERT(r.d & (1u << 28));       /* HTT: that count is valid */
	GUEST_ASSERT(r.c & (1u << 31));       /* hypervisor */
	GUEST_ASSERT((r.c & (1u << 5)) == 0); /* no VMX */
	GUEST_ASSERT((r.c & (1u << 3)) == 0); /* no MONITOR */
	if (CPUID_DETERMINISTIC)
		host_bits = r.d & (1u << 4) ? "TSC " : "";
	else
		GUEST_ASSERT(r.d & (1u << 4)); /* TSC */

	/* Leaf 0xB: SMT level (2 threads), core level (4 per package). */
	for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x14) {
		if (leaf > r0.a)
			break;
		r = cpuid(leaf, 0);
		GUEST_ASSERT_EQ(r.a & 0x1f, 1);
		GUEST_ASSERT_EQ(r.b & 0xffff, THREADS);
		GUEST_ASSERT_EQ(r.c, 0x100);
		GUEST_ASSERT_EQ(r.d, apic_id);
		r = cpuid(leaf, 1);
		GUEST_ASSERT_EQ(r.a & 0x1f, 2);
		GUEST_ASSERT_EQ(r.b & 0xffff, THREADS * CORES);
		GUEST_ASSERT_EQ(r.c, 0x201);
		GUEST_ASSERT_EQ(r.d, apic_id);
		r = cpuid(leaf, 2);
		GUEST_ASSERT_EQ((r.c >> 8) & 0xff, 0); /* no more levels */
		guest_printf("cpuid: leaf 0x%x: %u threads, %u per package\n",
			     leaf, THREADS, THREADS * CORES);
	}

	/* Leaf 4 (Intel): cores per package. */
	r = cpuid(4, 0);
	if (intel && (r.a & 0x1f) != 0)
		GUEST_ASSERT_EQ(r.a >> 26, CORES - 1);

	/* Leaf 7: RDSEED and RDPID (see host_bits). */
	r = cpuid(7, 0);
	if (CPUID_DETERMINISTIC && ((r.b & (1u << 18)) || (r.c & (1u << 22))))
		host_bits = "leaf 7 ";

	ext = cpuid(0x80000000, 0);
	GUEST_ASSERT(ext.a >= 0x80000001);
	r = cpuid(0x80000001, 0);
	if (CPUID_DETERMINISTIC)
		GUEST_ASSERT((r.d & (1u << 27)) == 0); /* RDTSCP */
	if (ext.a >= 0x80000007) {
		r = cpuid(0x80000007, 0);
		if (CPUID_DETERMINISTIC)
			GUEST_ASSERT((r.d & (1u << 8)) == 0); /* inv. TSC */
	}
	if (amd && ext.a >= 0x80000008) {
		r = cpuid(0x80000008, 0);
		GUEST_ASSERT_EQ(r.c & 0xff, THREADS * CORES - 1);
	}
	if (amd && ext.a >= 0x8000001e) {
		r = cpuid(0x8000001e, 0);
		GUEST_ASSERT_EQ(r.a, apic_id);
		GUEST_ASSERT_EQ((r.b >> 8) & 0xff, THREADS - 1);
	}

	/* rhyve's hypervisor leaf, and none of KVM's paravirt leaves. */
	r = cpuid(0x40000000, 0);
	GUEST_ASSERT_EQ(r.a, 0x40000000);
	GUEST_ASSERT(memcmp(&r.b, "rhyv", 4) == 0);
	GUEST_ASSERT(memcmp(&r.c, "e rh", 4) == 0);
	GUEST_ASSERT(memcmp(&r.d, "yve ", 4) == 0);

	if (host_bits != NULL && host_bits[0] != '\0')
		guest_printf("cpuid: note: the host shows %s\n", host_bits);
	guest_printf("cpuid: %s, %s: ok\n", amd ? "AMD" : "Intel",
		     CPUID_DETERMINISTIC ? "deterministic" : "ordinary");
	return 0;
}
