/*
 * rhyve's CPUID table (kmod/vmm_cpuid.c): the topology leaves 1, 4, 0xB,
 * 0x1F and AMD's 0x8000001D/1E/08 for several -c shapes, built from
 * hand-made Intel and AMD "supported" sets; the deterministic mode; and
 * on kvm, that a guest's CPUID instruction sees the table, that a
 * replay's table can be installed instead, and that the first checkpoint
 * records it.
 */
#include <string.h>

#include "cunit.h"
#include "trace.h"
#include "vmm.h"
#include "vmm_impl.h"
#include "x86.h"

#define E(l, s, a, b, c, d)                                                    \
	{                                                                      \
		l, s, a, b, c, d                                               \
	}

/* An Intel host's supported set, trimmed: vendor, max leaf 0x1F. */
static const struct vm_cpuid_entry intel_base[] = {
	E(0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
	E(0x1, 0, 0x000906ea, 0x00100800, 0xf7fa3223, 0x0f8bfbff),
	E(0x4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0),   /* L1d */
	E(0x4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0),   /* L1i */
	E(0x4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0),  /* L2 */
	E(0x4, 3, 0x1c03c163, 0x03c0003f, 0x2fff, 6), /* L3 */
	E(0x4, 4, 0, 0, 0, 0),
	E(0x5, 0, 0x40, 0x40, 3, 0x11142120),
	E(0x6, 0, 0x4, 0, 0, 0),
	E(0x7, 0, 0, 0x029c67af, 0x40400000, 0xbc000400),
	E(0xa, 0, 0x07300404, 0, 0, 0x603),
	E(0xb, 0, 1, 2, 0x100, 0),
	E(0xb, 1, 4, 12, 0x201, 0),
	E(0x15, 0, 2, 0xf6, 0, 0),
	E(0x1f, 0, 1, 2, 0x100, 0),
	E(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
	E(0x40000001, 0, 0x01007efb, 0, 0, 0),
	E(0x80000000, 0, 0x80000008, 0, 0, 0),
	E(0x80000001, 0, 0, 0, 0x121, 0x2c100800),
	E(0x80000007, 0, 0, 0, 0, 0x100),
	E(0x80000008, 0, 0x3027, 0, 0, 0),
};

/* This machine's (an AMD family 1Ah under PVM), trimmed. */
static const struct vm_cpuid_entry amd_base[] = {
	E(0x0, 0, 0x1c, 0x68747541, 0x444d4163, 0x69746e65),
	E(0x1, 0, 0x00b00f21, 0x01020800, 0x81202000, 0x078bfbff),
	E(0x4, 0, 0, 0, 0, 0),
	E(0x7, 0, 1, 0x01840002, 0x00400104, 0x20000000),
	E(0xb, 0, 0, 0, 0, 1),
	E(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
	E(0x80000000, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65),
	E(0x80000001, 0, 0x00b00f21, 0x40000000, 0x00400397, 0x2fd3fbff),
	E(0x80000007, 0, 0, 0, 0, 0x100),
	E(0x80000008, 0, 0x3030, 0x50020005, 0x7001, 0),
	E(0x8000001d, 0, 0x121, 0x02c0003f, 0x3f, 0),
	E(0x8000001d, 1, 0x122, 0x01c0003f, 0x3f, 0),
	E(0x8000001d, 2, 0x143, 0x03c0003f, 0x3ff, 2),
	E(0x8000001d, 3, 0x4163, 0x03c0003f, 0x7fff, 1),
	E(0x8000001d, 4, 0, 0, 0, 0),
	E(0x8000001e, 0, 0, 0, 0, 0),
};

#define NBASE(b) ((int)(sizeof(b) / sizeof(b[0])))

static struct vm_cpuid_entry table[VM_CPUID_MAX];
static int ntable;

static void
build(const struct vm_cpuid_entry *base, int nbase, uint32_t cores,
      uint32_t threads, bool det, int vcpuid)
{
	struct vm_cpuid_config cfg = { cores, threads, det };

	ntable = vm_cpuid_build(base, nbase, &cfg, vcpuid, table, VM_CPUID_MAX);
	CU_ASSERT_FATAL(ntable > 0);
}

static uint32_t r[4];

static int
q(uint32_t leaf, uint32_t sub)
{
	return vm_cpuid_lookup(table, ntable, leaf, sub, r);
}

static uint32_t
width(uint32_t n)
{
	uint32_t w = 0;

	while ((1u << w) < n)
		w++;
	return w;
}

static const struct {
	uint32_t cores, threads;
} shapes[] = { { 1, 1 }, { 2, 1 }, { 1, 2 }, { 2, 2 },
	       { 4, 2 }, { 3, 2 }, { 8, 1 }, { 6, 4 } };

/* Leaves 1, 4, 0xB, 0x1F on Intel, for every shape and a few vCPUs. */
static void
test_intel_topology(void)
{
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		uint32_t c = shapes[s].cores, t = shapes[s].threads;

		for (int id = 0; id < 5; id++) {
			build(intel_base, NBASE(intel_base), c, t, false, id);
			CU_ASSERT_EQUAL(q(1, 0), 0);
			CU_ASSERT_EQUAL(r[1] >> 24, (uint32_t)id);
			CU_ASSERT_EQUAL((r[1] >> 16) & 0xff, c * t);
			CU_ASSERT_EQUAL(r[1] & 0xffff, 0x0800); /* CLFLUSH */
			CU_ASSERT_TRUE(r[3] & (1u << 28));      /* HTT */
			/* Leaf 4: cores, and who shares each cache. */
			for (uint32_t sub = 0; sub < 4; sub++) {
				uint32_t share = sub == 3 ? c * t : t;

				CU_ASSERT_EQUAL(q(4, sub), 0);
				CU_ASSERT_EQUAL(r[0] >> 26, c - 1);
				CU_ASSERT_EQUAL((r[0] >> 14) & 0xfff,
						share - 1);
				CU_ASSERT_EQUAL(r[0] & 0x3ff,
						intel_base[2 + sub].eax &
						    0x3ff);
			}
			CU_ASSERT_EQUAL(q(4, 4), 0);
			CU_ASSERT_EQUAL(r[0], 0);
			/* 0xB and 0x1F: SMT, core, then invalid. */
			for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x14) {
				CU_ASSERT_EQUAL(q(leaf, 0), 0);
				CU_ASSERT_EQUAL(r[0], width(t));
				CU_ASSERT_EQUAL(r[1], t);
				CU_ASSERT_EQUAL(r[2], 0x100);
				CU_ASSERT_EQUAL(r[3], (uint32_t)id);
				CU_ASSERT_EQUAL(q(leaf, 1), 0);
				CU_ASSERT_EQUAL(r[0], width(c * t));
				CU_ASSERT_EQUAL(r[1], c * t);
				CU_ASSERT_EQUAL(r[2], 0x201);
				CU_ASSERT_EQUAL(r[3], (uint32_t)id);
				CU_ASSERT_EQUAL(q(leaf, 2), 0);
				CU_ASSERT_EQUAL(r[0], 0);
				CU_ASSERT_EQUAL(r[1], 0);
				CU_ASSERT_EQUAL(r[2], 2);
				CU_ASSERT_EQUAL(r[3], (uint32_t)id);
			}
		}
	}
	/* 2 sockets x 2 cores x 2 threads: vCPU 5 is package 1. */
	build(intel_base, NBASE(intel_base), 2, 2, false, 5);
	q(0xb, 1);
	CU_ASSERT_EQUAL(r[3] >> r[0], 1);
	q(0xb, 0);
	CU_ASSERT_EQUAL(r[3] & ((1u << r[0]) - 1), 1); /* thread 1 */
}

/* What rhyve hides or presents whatever the shape. */
static void
test_hidden(void)
{
	build(intel_base, NBASE(intel_base), 1, 1, false, 0);
	CU_ASSERT_EQUAL(q(0, 0), 0);
	CU_ASSERT_EQUAL(r[0], 0x1f);
	CU_ASSERT_EQUAL(memcmp(&r[1], "Genu", 4), 0);
	q(1, 0);
	CU_ASSERT_TRUE(r[2] & (1u << 31));  /* hypervisor */
	CU_ASSERT_FALSE(r[2] & (1u << 5));  /* VMX */
	CU_ASSERT_FALSE(r[2] & (1u << 3));  /* MONITOR */
	CU_ASSERT_FALSE(r[2] & (1u << 15)); /* PDCM */
	CU_ASSERT_TRUE(r[2] & (1u << 30));  /* RDRAND kept */
	CU_ASSERT_TRUE(r[3] & (1u << 4));   /* TSC kept */
	q(5, 0);
	CU_ASSERT_EQUAL(r[0] | r[1] | r[2] | r[3], 0); /* MONITOR leaf */
	q(0xa, 0);
	CU_ASSERT_EQUAL(r[0] | r[1] | r[2] | r[3], 0); /* no PMU */
	q(0x15, 0);
	CU_ASSERT_EQUAL(r[0] | r[1] | r[2] | r[3], 0);
	q(7, 0);
	CU_ASSERT_TRUE(r[1] & (1u << 18)); /* RDSEED kept */
	CU_ASSERT_TRUE(r[2] & (1u << 22)); /* RDPID kept */
	q(0x80000007, 0);
	CU_ASSERT_EQUAL(r[3], 0x100); /* invariant TSC kept */
	/* rhyve's hypervisor leaf, none of KVM's. */
	CU_ASSERT_EQUAL(q(0x40000000, 0), 0);
	CU_ASSERT_EQUAL(r[0], 0x40000000);
	CU_ASSERT_EQUAL(memcmp(&r[1], "rhyve rhyve ", 4), 0);
	CU_ASSERT_EQUAL(memcmp(&r[2], "e rh", 4), 0);
	CU_ASSERT_EQUAL(memcmp(&r[3], "yve ", 4), 0);
	CU_ASSERT_EQUAL(q(0x40000001, 0), ENOENT);
	/* A subleaf of an unindexed leaf is the leaf. */
	CU_ASSERT_EQUAL(q(1, 7), 0);
	CU_ASSERT_EQUAL(r[1] >> 24, 0);
	CU_ASSERT_EQUAL(q(0x12345, 0), ENOENT);
	CU_ASSERT_EQUAL(r[0] | r[1] | r[2] | r[3], 0);
}

static void
test_deterministic(void)
{
	const struct vm_cpuid_entry *bases[2] = { intel_base, amd_base };
	const int n[2] = { NBASE(intel_base), NBASE(amd_base) };

	for (int v = 0; v < 2; v++) {
		build(bases[v], n[v], 2, 1, true, 1);
		q(1, 0);
		CU_ASSERT_FALSE(r[3] & (1u << 4));  /* TSC */
		CU_ASSERT_FALSE(r[2] & (1u << 24)); /* TSC-deadline */
		CU_ASSERT_FALSE(r[2] & (1u << 30)); /* RDRAND */
		CU_ASSERT_EQUAL(r[1] >> 24, 1);     /* topology as ever */
		q(7, 0);
		CU_ASSERT_FALSE(r[1] & (1u << 18)); /* RDSEED */
		CU_ASSERT_FALSE(r[1] & (1u << 1));  /* TSC_ADJUST */
		CU_ASSERT_FALSE(r[2] & (1u << 22)); /* RDPID */
		q(0x80000001, 0);
		CU_ASSERT_FALSE(r[3] & (1u << 27)); /* RDTSCP */
		q(0x80000007, 0);
		CU_ASSERT_FALSE(r[3] & (1u << 8)); /* invariant TSC */
	}
	/* The AMD base has RDTSCP: kept when not deterministic. */
	build(amd_base, NBASE(amd_base), 2, 1, false, 1);
	q(0x80000001, 0);
	CU_ASSERT_TRUE(r[3] & (1u << 27));
	CU_ASSERT_FALSE(r[2] & (1u << 2)); /* SVM */
}

/* AMD: 0xB (no 0x1F: max leaf 0x1C), 0x80000008, 0x8000001D/1E. */
static void
test_amd_topology(void)
{
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		uint32_t c = shapes[s].cores, t = shapes[s].threads;

		for (int id = 0; id < 5; id++) {
			build(amd_base, NBASE(amd_base), c, t, false, id);
			q(1, 0);
			CU_ASSERT_EQUAL(r[1] >> 24, (uint32_t)id);
			CU_ASSERT_EQUAL((r[1] >> 16) & 0xff, c * t);
			CU_ASSERT_EQUAL(q(0xb, 1), 0);
			CU_ASSERT_EQUAL(r[1], c * t);
			CU_ASSERT_EQUAL(r[3], (uint32_t)id);
			CU_ASSERT_EQUAL(q(0x1f, 0), ENOENT);
			q(0x80000008, 0);
			CU_ASSERT_EQUAL(r[2] & 0xff, c * t - 1);
			CU_ASSERT_EQUAL((r[2] >> 12) & 0xf, width(c * t));
			CU_ASSERT_EQUAL(r[0], 0x3030); /* address sizes */
			q(0x8000001e, 0);
			CU_ASSERT_EQUAL(r[0], (uint32_t)id);
			CU_ASSERT_EQUAL((r[1] >> 8) & 0xff, t - 1);
			CU_ASSERT_EQUAL(r[1] & 0xff, (uint32_t)id >> width(t));
			for (uint32_t sub = 0; sub < 4; sub++) {
				uint32_t share = sub == 3 ? c * t : t;

				q(0x8000001d, sub);
				CU_ASSERT_EQUAL((r[0] >> 14) & 0xfff,
						share - 1);
				CU_ASSERT_EQUAL(r[0] & 0x3fff,
						amd_base[10 + sub].eax &
						    0x3fff);
			}
			/* Leaf 4 is reserved on AMD: stays empty. */
			q(4, 0);
			CU_ASSERT_EQUAL(r[0], 0);
		}
	}
}

static void
test_bad_config(void)
{
	struct vm_cpuid_config cfg = { 0, 1, false };

	CU_ASSERT_TRUE(vm_cpuid_build(intel_base, NBASE(intel_base), &cfg, 0,
				      table, VM_CPUID_MAX) < 0);
	cfg = (struct vm_cpuid_config){ 1, 1, false };
	CU_ASSERT_TRUE(vm_cpuid_build(intel_base, NBASE(intel_base), &cfg, 0,
				      table, 4) < 0); /* no room */
	CU_ASSERT_TRUE(vm_cpuid_build(intel_base + 1, 3, &cfg, 0, table,
				      VM_CPUID_MAX) < 0); /* no leaf 0 */
}

/* ---- on kvm --------------------------------------------------------- */

/*
 * Real mode: report CPUID(1).EBX, CPUID(0x80000007).EDX and
 * CPUID(0x40000000).EBX on port 0xe0, then HLT.
 *
 * Not leaf 1 ECX/EDX or leaf 7: on the PVM hosts of this workplace those
 * feature bits reach the guest from the host whatever KVM_SET_CPUID2
 * says (measured: leaf 1 ECX 0xf6d83203 with a table saying 0x80002000),
 * while leaf 1 EBX, the extended and the hypervisor leaves follow it.
 */
static const uint8_t cpuid_code[] = {
	0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
	0x0f, 0xa2,                         /* cpuid */
	0x66, 0x89, 0xd8,                   /* mov eax, ebx */
	0x66, 0xe7, 0xe0,                   /* out 0xe0, eax */
	0x66, 0xb8, 0x07, 0x00, 0x00, 0x80, /* mov eax, 0x80000007 */
	0x0f, 0xa2,                         /* cpuid */
	0x66, 0x89, 0xd0,                   /* mov eax, edx */
	0x66, 0xe7, 0xe0,                   /* out 0xe0, eax */
	0x66, 0xb8, 0x00, 0x00, 0x00, 0x40, /* mov eax, 0x40000000 */
	0x0f, 0xa2,                         /* cpuid */
	0x66, 0x89, 0xd8,                   /* mov eax, ebx */
	0x66, 0xe7, 0xe0,                   /* out 0xe0, eax */
	0xf4,                               /* hlt */
};

static uint32_t
run_out(struct vcpu *vcpu, struct vm_exit *ex)
{
	uint32_t v = 0;

	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex->exitcode, VM_EXITCODE_INOUT);
	CU_ASSERT_EQUAL(ex->u.inout.port, 0xe0);
	memcpy(&v, ex->u.inout.data, 4);
	return v;
}

static struct vm *
cpuid_vm(const char *name, struct vcpu **v1)
{
	char err[256];
	struct vm *vm;

	if (vm_create(name, "kvm", &vm, err, sizeof(err)) != 0)
		return NULL;
	if (vm_setup_memory(vm, 1 << 16) != 0 ||
	    vm_vcpu_create(vm, 0, NULL) != 0 ||
	    vm_vcpu_create(vm, 1, v1) != 0 ||
	    vm_set_topology(vm, 1, 2, 1) != 0) {
		vm_destroy(vm);
		return NULL;
	}
	memcpy(vm_map_gpa(vm, 0x1000, sizeof(cpuid_code)), cpuid_code,
	       sizeof(cpuid_code));
	/* vCPU 1 runs at once here: a SIPI to page 1 (CS 0x100, IP 0). */
	vm_vcpu_sipi(*v1, 1);
	return vm;
}

static void
test_kvm_guest_sees_table(void)
{
	struct vm_exit ex;
	struct vcpu *v1;
	struct vm *vm;
	uint32_t regs[4], inv[4], ebx;

	if (!unit_have_kvm())
		return;
	vm = cpuid_vm("cpuid", &v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	CU_ASSERT_EQUAL(vm_cpuid(v1, 1, 0, regs), 0);
	CU_ASSERT_EQUAL(regs[1] >> 24, 1);
	CU_ASSERT_EQUAL((regs[1] >> 16) & 0xff, 2);
	vm_cpuid(v1, 0x80000007, 0, inv);
	memset(&ex, 0, sizeof(ex));
	CU_ASSERT_EQUAL(run_out(v1, &ex), regs[1]); /* rhyve's leaf 1 */
	CU_ASSERT_EQUAL(run_out(v1, &ex), inv[3]);
	ebx = run_out(v1, &ex);
	CU_ASSERT_EQUAL(memcmp(&ebx, "rhyv", 4), 0);
	vm_destroy(vm);
}

/* A replay installs the recorded table: the guest sees that one. */
static void
test_kvm_install_table(void)
{
	const struct vm_cpuid_entry *t;
	struct vm_cpuid_entry copy[VM_CPUID_MAX];
	struct vm_exit ex;
	struct vcpu *v1;
	struct vm *vm;
	int n;

	if (!unit_have_kvm())
		return;
	vm = cpuid_vm("cpuid-set", &v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	n = vm_get_cpuid_table(v1, &t);
	CU_ASSERT_FATAL(n > 0 && n <= VM_CPUID_MAX);
	memcpy(copy, t, (size_t)n * sizeof(*t));
	for (int i = 0; i < n; i++) {
		if (copy[i].leaf == 1)
			copy[i].ebx = (copy[i].ebx & 0xffff) | (7u << 24);
		if (copy[i].leaf == 0x80000007)
			copy[i].edx = 0x5a5; /* only the table says so */
	}
	CU_ASSERT_EQUAL(vm_set_cpuid_table(v1, copy, n), 0);
	CU_ASSERT_EQUAL(vm_set_cpuid_table(v1, copy, VM_CPUID_MAX + 1), EINVAL);
	memset(&ex, 0, sizeof(ex));
	CU_ASSERT_EQUAL(run_out(v1, &ex) >> 24, 7);
	CU_ASSERT_EQUAL(run_out(v1, &ex), 0x5a5);
	vm_destroy(vm);

	/*
	 * Deterministic: the invariant TSC the host offers is hidden (the
	 * supported set of this machine has it; elsewhere the check is
	 * still that the guest sees 0).
	 */
	vm = cpuid_vm("cpuid-det", &v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	CU_ASSERT_EQUAL(vm_set_deterministic(vm, true), 0);
	CU_ASSERT_TRUE(vm_deterministic(vm));
	memset(&ex, 0, sizeof(ex));
	run_out(v1, &ex);
	CU_ASSERT_EQUAL(run_out(v1, &ex) & (1u << 8), 0);
	vm_destroy(vm);
}

/* The first checkpoint carries every vCPU's table. */
static void
test_kvm_recorded(void)
{
	const char *path = unit_tmp_path("cpuid.rtr");
	struct trace_writer_opts o = { 0 };
	const struct vm_cpuid_entry *t;
	struct trace_writer *w;
	struct trace_reader *rd;
	struct trace_event ev;
	struct vcpu *v1;
	struct vm *vm;
	char err[256];
	int n, seen[2] = { 0, 0 }, leaf1_ok = 0;

	if (!unit_have_kvm())
		return;
	vm = cpuid_vm("cpuid-rec", &v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	n = vm_get_cpuid_table(v1, &t);
	w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(vm_record_start(vm, w), 0);
	CU_ASSERT_EQUAL(vm_record_checkpoint(vm), 0);
	CU_ASSERT_EQUAL(vm_record_checkpoint(vm), 0); /* no table again */
	vm_record_stop(vm);
	CU_ASSERT_EQUAL(trace_writer_close(w, err, sizeof(err)), 0);
	vm_destroy(vm);

	rd = trace_open(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(rd);
	while (trace_next(rd, &ev) == 1) {
		if (ev.kind != TRACE_EV_CPUID)
			continue;
		CU_ASSERT_FATAL(ev.vcpu < 2);
		seen[ev.vcpu]++;
		if (ev.u.cpuid.leaf == 1 && ev.u.cpuid.ebx >> 24 == ev.vcpu)
			leaf1_ok++;
	}
	trace_close(rd);
	CU_ASSERT_EQUAL(seen[0], n);
	CU_ASSERT_EQUAL(seen[1], n);
	CU_ASSERT_EQUAL(leaf1_ok, 2);
}

static CU_TestInfo cpuid_tests[] = {
	{ "Intel topology leaves 1, 4, 0xB, 0x1F", test_intel_topology },
	{ "AMD topology leaves", test_amd_topology },
	{ "hidden leaves and rhyve's hypervisor leaf", test_hidden },
	{ "deterministic mode", test_deterministic },
	{ "bad configurations", test_bad_config },
	{ "kvm: the guest sees the table", test_kvm_guest_sees_table },
	{ "kvm: a replay's table installed", test_kvm_install_table },
	{ "kvm: the first checkpoint records it", test_kvm_recorded },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "rhyve's CPUID table", cpuid_tests },
	{ NULL, NULL },
};
