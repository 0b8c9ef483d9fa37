/*
 * What the interp engine's CPU is, as CPUID says it (the engine's
 * cpuid_supported op; kmod's vmm_cpuid.c builds the guest's table from
 * it, as from KVM_GET_SUPPORTED_CPUID).  Only what the engine executes
 * is advertised: x87, MMX, SSE, SSE2 and FXSR completely, SSE3, SSSE3,
 * SSE4.1 and SSE4.2 where the host has them (interp_sse_*.c run them on
 * the host's SIMD unit); XSAVE with the x87 and SSE components; not
 * AVX.  RDRAND and RDSEED exit to kmod, whose bits are recorded (hidden
 * with --deterministic, as on kvm).
 */
#include <errno.h>
#include <string.h>

#include "interp.h"

#define F(bit) (1u << (bit))

/* CPUID.1:EDX */
#define ID1_EDX                                                                \
	(F(0) /* FPU */ | F(3) /* PSE */ | F(4) /* TSC */ | F(5) /* MSR */ |   \
	 F(6) /* PAE */ | F(8) /* CX8 */ | F(9) /* APIC */ | F(11) /* SEP */ | \
	 F(13) /* PGE */ | F(15) /* CMOV */ | F(16) /* PAT */ |                \
	 F(17) /* PSE36 */ | F(19) /* CLFSH */ | F(23) /* MMX */ |             \
	 F(24) /* FXSR */ | F(25) /* SSE */ | F(26) /* SSE2 */)
/* CPUID.1:ECX */
#define ID1_ECX                                                                \
	(F(13) /* CX16 */ | F(21) /* x2APIC */ | F(22) /* MOVBE */ |           \
	 F(23) /* POPCNT */ | F(24) /* TSC deadline */ |                       \
	 F(26) /* XSAVE (OSXSAVE: CR4's) */ | F(30) /* RDRAND */ |             \
	 F(31) /* hypervisor */)
/* CPUID.0DH: the XCR0 bits supported and the XSAVE area's size */
#define XCR0_BITS   0x3u
#define XSAVE_BYTES 576u
/* CPUID.7.0:EBX */
#define ID7_EBX                                                                \
	(F(3) /* BMI1 */ | F(7) /* SMEP */ | F(8) /* BMI2 */ |                 \
	 F(18) /* RDSEED */ | F(19) /* ADX */ | F(20) /* SMAP */)
/* CPUID.80000001H */
/* LAHF/SAHF in 64-bit mode; LZCNT (else F3 0F BD would be BSR) */
#define EXT1_ECX (F(0) | F(5))
#define EXT1_EDX                                                               \
	(F(11) /* SYSCALL */ | F(20) /* NX */ | F(26) /* 1 GiB */ |            \
	 F(27) /* RDTSCP */ | F(29) /* LM */)

static void
put_string(struct vm_cpuid_entry *e, const char *s)
{
	memcpy(&e->eax, s, 4);
	memcpy(&e->ebx, s + 4, 4);
	memcpy(&e->ecx, s + 8, 4);
	memcpy(&e->edx, s + 12, 4);
}

int
interp_cpuid_supported(void *cookie, struct vm_cpuid_entry *out, int max)
{
	static const char brand[48] = "rhyve interp x86-64 CPU";
	struct vm_cpuid_entry t[] = {
		/* GenuineIntel: EBX "Genu", EDX "ineI", ECX "ntel" */
		{ 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 },
		/* family 6 model 0x55 stepping 4; CLFLUSH line 8 qwords */
		{ 1, 0, 0x00050654, 0x00000800, ID1_ECX, ID1_EDX },
		{ 7, 0, 0, ID7_EBX, 0, 0 },
		/* XSAVE (interp_xsave.c): XCR0 may hold x87 and SSE, in
		 * the 512-byte legacy region and the 64-byte header;
		 * XSAVEOPT, XSAVEC, XGETBV with ECX 1, XSAVES (IA32_XSS
		 * supports nothing). */
		{ 0xd, 0, XCR0_BITS, XSAVE_BYTES, XSAVE_BYTES, 0 },
		{ 0xd, 1, 0xf, XSAVE_BYTES, 0, 0 },
		{ 0x80000000, 0, 0x80000008, 0, 0, 0 },
		{ 0x80000001, 0, 0, 0, EXT1_ECX, EXT1_EDX },
		{ 0x80000002, 0, 0, 0, 0, 0 },
		{ 0x80000003, 0, 0, 0, 0, 0 },
		{ 0x80000004, 0, 0, 0, 0, 0 },
		/* 40 physical, 48 linear address bits */
		{ 0x80000008, 0, 0x3028, 0, 0, 0 },
	};
	int n = (int)(sizeof(t) / sizeof(t[0]));

	(void)cookie;
	for (int i = 0; i < 3; i++)
		put_string(&t[7 + i], brand + 16 * i);
	/* SSE3, SSSE3, SSE4.1, SSE4.2: executed on the host's SIMD unit
	 * (interp_sse_*.c), so only where the host has them. */
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse3"))
		t[1].ecx |= F(0);
	if (__builtin_cpu_supports("ssse3"))
		t[1].ecx |= F(9);
	if (__builtin_cpu_supports("sse4.1"))
		t[1].ecx |= F(19);
	/* SSE4.2: PCMPGTQ runs on the host, so only where the host has
	 * it (the string compares and CRC32 follow, interp_sse_str.c). */
	if (__builtin_cpu_supports("sse4.2"))
		t[1].ecx |= F(20);
	if (n > max)
		return -ENOSPC;
	memcpy(out, t, sizeof(t));
	return n;
}
