/*
 * rhyve's own CPUID table, as bhyve's x86_emulate_cpuid() decides it:
 * start from what the engine can run (kvm: KVM_GET_SUPPORTED_CPUID),
 * then decide every leaf here, independent of the engine, so that the
 * guest's view is rhyve's, not the host's, and can be recorded and
 * installed again on replay.
 *
 * One table per vCPU (leaf 1, 0xB, 0x1F and AMD's 0x8000001E carry the
 * vCPU's APIC ID), built from the VM's topology (-c sockets/cores/threads)
 * and its deterministic flag.  APIC IDs are vCPU ids, as in bhyve; for
 * shapes where 'threads' or 'threads * cores' is not a power of two the
 * ID's fields then do not split exactly into thread/core/package (bhyve
 * shares that).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_impl.h"

/* CPUID.1:ECX */
#define CPUID2_MON    (1u << 3)
#define CPUID2_DS_CPL (1u << 4)
#define CPUID2_VMX    (1u << 5)
#define CPUID2_SMX    (1u << 6)
#define CPUID2_EST    (1u << 7)
#define CPUID2_TM2    (1u << 8)
#define CPUID2_PDCM   (1u << 15)
#define CPUID2_TSCDLT (1u << 24)
#define CPUID2_RDRAND (1u << 30)
#define CPUID2_HV     (1u << 31)
/* CPUID.1:EDX */
#define CPUID_TSC  (1u << 4)
#define CPUID_DS   (1u << 21)
#define CPUID_ACPI (1u << 22)
#define CPUID_HTT  (1u << 28)
#define CPUID_TM   (1u << 29)
/* CPUID.7.0 */
#define CPUID_STDEXT_TSC_ADJUST (1u << 1)  /* EBX */
#define CPUID_STDEXT_RDSEED     (1u << 18) /* EBX */
#define CPUID_STDEXT2_WAITPKG   (1u << 5)  /* ECX: TPAUSE/UMWAIT count TSC */
#define CPUID_STDEXT2_RDPID     (1u << 22) /* ECX */
/* CPUID.0x80000001 */
#define AMDID2_SVM          (1u << 2)  /* ECX */
#define AMDID2_OSVW         (1u << 9)  /* ECX */
#define AMDID2_IBS          (1u << 10) /* ECX */
#define AMDID2_NODE_ID      (1u << 19) /* ECX */
#define AMDID2_PCXC         (1u << 23) /* ECX */
#define AMDID2_PNXC         (1u << 24) /* ECX */
#define AMDID2_PTSCEL2I     (1u << 28) /* ECX */
#define AMDID2_MWAITX       (1u << 29) /* ECX */
#define AMDID_RDTSCP        (1u << 27) /* EDX */
#define AMDPM_TSC_INVARIANT (1u << 8)  /* 0x80000007 EDX */

#define CPUID_TYPE_SMT      1
#define CPUID_TYPE_CORE     2

/* The hypervisor leaf: rhyve's signature, and no leaves after it. */
static const char rhyve_id[12] = "rhyve rhyve ";

/*
 * Leaves whose ECX selects a subleaf (Intel SDM vol. 2A CPUID, AMD APM
 * vol. 3 E.3); the engine is told so, and replay derives it from the
 * leaf alone.
 */
bool
vm_cpuid_indexed(uint32_t leaf)
{
	switch (leaf) {
	case 0x4:
	case 0x7:
	case 0xb:
	case 0xd:
	case 0xf:
	case 0x10:
	case 0x12:
	case 0x14:
	case 0x17:
	case 0x18:
	case 0x1a:
	case 0x1b:
	case 0x1d:
	case 0x1e:
	case 0x1f:
	case 0x20:
	case 0x23:
	case 0x24:
	case 0x8000001d:
	case 0x80000020:
	case 0x80000026:
		return true;
	default:
		return false;
	}
}

/* log2 of x rounded up to a power of two: the APIC ID bits for x. */
static uint32_t
id_width(uint32_t x)
{
	uint32_t w = 0;

	while ((1u << w) < x)
		w++;
	return w;
}

static const struct vm_cpuid_entry *
base_find(const struct vm_cpuid_entry *base, int nbase, uint32_t leaf,
	  uint32_t subleaf)
{
	for (int i = 0; i < nbase; i++)
		if (base[i].leaf == leaf && base[i].subleaf == subleaf)
			return &base[i];
	return NULL;
}

static bool
vendor_is_amd(const struct vm_cpuid_entry *base, int nbase)
{
	const struct vm_cpuid_entry *e = base_find(base, nbase, 0, 0);

	/* "AuthenticAMD" or Hygon's "HygonGenuine", in EBX EDX ECX. */
	return e != NULL && ((e->ebx == 0x68747541 && e->edx == 0x69746e65 &&
			      e->ecx == 0x444d4163) ||
			     (e->ebx == 0x6f677948 && e->edx == 0x6e65476e &&
			      e->ecx == 0x656e6975));
}

struct cpuid_out {
	struct vm_cpuid_entry *e;
	int n, max;
};

static struct vm_cpuid_entry *
out_add(struct cpuid_out *o, uint32_t leaf, uint32_t subleaf)
{
	struct vm_cpuid_entry *e;

	if (o->n >= o->max)
		return NULL;
	e = &o->e[o->n++];
	memset(e, 0, sizeof(*e));
	e->leaf = leaf;
	e->subleaf = subleaf;
	return e;
}

/*
 * Leaves 0xB and 0x1F: level 0 SMT (threads per core), level 1 core
 * (logical processors per package), then an invalid level; EDX is the
 * x2APIC ID at every level.
 */
static int
add_topology_leaf(struct cpuid_out *o, uint32_t leaf,
		  const struct vm_cpuid_config *cfg, int vcpuid)
{
	const uint32_t count[2] = { cfg->threads, cfg->threads * cfg->cores };
	const uint32_t type[2] = { CPUID_TYPE_SMT, CPUID_TYPE_CORE };

	for (uint32_t sub = 0; sub < 3; sub++) {
		struct vm_cpuid_entry *e = out_add(o, leaf, sub);

		if (e == NULL)
			return ENOSPC;
		e->ecx = sub;
		e->edx = (uint32_t)vcpuid;
		if (sub < 2) {
			e->eax = id_width(count[sub]);
			e->ebx = count[sub] & 0xffff;
			e->ecx |= type[sub] << 8;
		}
	}
	return 0;
}

/* Decide one entry the engine supports; false: leave it out. */
static bool
decide_leaf(struct vm_cpuid_entry *e, const struct vm_cpuid_config *cfg,
	    int vcpuid, bool amd)
{
	const uint32_t logical = cfg->threads * cfg->cores;
	uint32_t level, sharing;

	switch (e->leaf) {
	case 0x1:
		/* APIC ID, and the logical processors in the package. */
		e->ebx = (e->ebx & 0x0000ffff) | ((uint32_t)vcpuid << 24) |
			 ((logical & 0xff) << 16);
		/*
		 * No VMX/SMX (no nested virtualization), no SpeedStep or
		 * thermal monitor (no power management), no MONITOR/MWAIT
		 * (an idle guest must HLT, which rhyve sees), no
		 * performance/debug capability MSR or debug store (no
		 * PMU).  Hypervisor present.
		 */
		e->ecx &= ~(CPUID2_VMX | CPUID2_SMX | CPUID2_EST | CPUID2_TM2 |
			    CPUID2_MON | CPUID2_PDCM | CPUID2_DS_CPL);
		e->ecx |= CPUID2_HV;
		/*
		 * x2APIC and the TSC-deadline timer are rhyve's local APIC
		 * (kmod/io/vlapic.c): the engine's set has them where the
		 * APIC's MSRs reach kmod (kvm: MSR exits), and they stay as
		 * it says.
		 */
		e->edx &= ~(CPUID_ACPI | CPUID_TM | CPUID_DS);
		/* EBX[23:16] is valid: say so, as bhyve does. */
		e->edx |= CPUID_HTT;
		if (cfg->deterministic) {
			e->ecx &= ~(CPUID2_RDRAND | CPUID2_TSCDLT);
			e->edx &= ~CPUID_TSC;
		}
		return true;
	case 0x4:
		/*
		 * Intel's cache parameters: cores per package in
		 * EAX[31:26]; L1 and L2 shared by a core's threads, L3 by
		 * the package (bhyve's fictitious but consistent layout).
		 */
		if ((e->eax & 0x1f) == 0)
			return true; /* no more caches (and AMD's: reserved) */
		level = (e->eax >> 5) & 7;
		sharing = level >= 3 ? logical : cfg->threads;
		e->eax = (e->eax & 0x3ff) | ((cfg->cores - 1) << 26) |
			 (((sharing - 1) & 0xfff) << 14);
		return true;
	case 0x5: /* MONITOR/MWAIT: hidden in leaf 1 */
	case 0xa: /* the architectural PMU: rhyve has none */
	case 0xf: /* resource director: no cache QoS for guests */
	case 0x10:
	case 0x12: /* SGX */
	case 0x14: /* processor trace */
	case 0x15: /* TSC/crystal ratio: host timing, as bhyve hides it */
	case 0x16: /* processor frequencies: host timing */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		return true;
	case 0x6:
		/* Power management: only "APIC timer always runs" (ARAT). */
		e->eax &= 1u << 2;
		e->ebx = e->ecx = e->edx = 0;
		return true;
	case 0x7:
		if (e->subleaf == 0 && cfg->deterministic) {
			e->ebx &=
			    ~(CPUID_STDEXT_RDSEED | CPUID_STDEXT_TSC_ADJUST);
			e->ecx &=
			    ~(CPUID_STDEXT2_RDPID | CPUID_STDEXT2_WAITPKG);
		}
		return true;
	case 0xb:
	case 0x1f:
		return false; /* rhyve's own, from the topology */
	case 0x80000001:
		/*
		 * No SVM (no nested virtualization), no performance
		 * counter extensions or IBS (no PMU), no NodeID MSR, no OS
		 * visible workarounds, no MONITORX/MWAITX.
		 */
		e->ecx &= ~(AMDID2_SVM | AMDID2_PCXC | AMDID2_PNXC |
			    AMDID2_PTSCEL2I | AMDID2_IBS | AMDID2_NODE_ID |
			    AMDID2_OSVW | AMDID2_MWAITX);
		if (cfg->deterministic)
			e->edx &= ~AMDID_RDTSCP;
		return true;
	case 0x80000007:
		/* Power and RAS: only the invariant TSC, as bhyve. */
		e->eax = e->ebx = e->ecx = 0;
		e->edx &= cfg->deterministic ? 0 : AMDPM_TSC_INVARIANT;
		return true;
	case 0x80000008:
		/*
		 * AMD: NC = logical processors per package - 1, and
		 * ApicIdCoreIdSize = the bits of the APIC ID they take.
		 * Intel: ECX is reserved.
		 */
		if (amd)
			e->ecx = (e->ecx & ~0xf0ffu) |
				 (id_width(logical) << 12) |
				 ((logical - 1) & 0xff);
		return true;
	case 0x8000001d:
		/* AMD's cache topology, laid out as leaf 4. */
		if (!amd || (e->eax & 0x1f) == 0)
			return true;
		level = (e->eax >> 5) & 7;
		sharing = level >= 3 ? logical : cfg->threads;
		e->eax = (e->eax & ~(0xfffu << 14)) |
			 (((sharing - 1) & 0xfff) << 14);
		return true;
	case 0x8000001e:
		/*
		 * AMD: extended APIC ID, threads per core - 1 and the core
		 * ID; one node per package.
		 */
		if (!amd)
			return true;
		e->eax = (uint32_t)vcpuid;
		e->ebx = ((cfg->threads - 1) << 8) |
			 (((uint32_t)vcpuid >> id_width(cfg->threads)) & 0xff);
		e->ecx = 0;
		e->edx = 0;
		return true;
	default:
		/*
		 * The engine's hypervisor leaves (KVM's paravirtual clock
		 * and friends) are not rhyve's: it presents its own.
		 */
		if (e->leaf >= 0x40000000 && e->leaf < 0x80000000)
			return false;
		return true;
	}
}

int
vm_cpuid_build(const struct vm_cpuid_entry *base, int nbase,
	       const struct vm_cpuid_config *cfg, int vcpuid,
	       struct vm_cpuid_entry *out, int max)
{
	struct cpuid_out o = { out, 0, max };
	const struct vm_cpuid_entry *b0 = base_find(base, nbase, 0, 0);
	bool amd = vendor_is_amd(base, nbase);
	uint32_t maxleaf;
	struct vm_cpuid_entry *e;
	int error;

	if (b0 == NULL || cfg->threads < 1 || cfg->cores < 1 ||
	    cfg->threads * cfg->cores > 0xff)
		return -EINVAL;
	/* Leaf 0xB always (Linux reads it on AMD too); 0x1F where Intel has it.
	 */
	maxleaf = b0->eax < 0xb ? 0xb : b0->eax;
	for (int i = 0; i < nbase; i++) {
		e = out_add(&o, 0, 0);
		if (e == NULL)
			return -ENOSPC;
		*e = base[i];
		if (e->leaf == 0)
			e->eax = maxleaf;
		if (!decide_leaf(e, cfg, vcpuid, amd))
			o.n--;
	}
	if ((error = add_topology_leaf(&o, 0xb, cfg, vcpuid)) != 0)
		return -error;
	if (maxleaf >= 0x1f &&
	    (error = add_topology_leaf(&o, 0x1f, cfg, vcpuid)) != 0)
		return -error;
	e = out_add(&o, 0x40000000, 0);
	if (e == NULL)
		return -ENOSPC;
	e->eax = 0x40000000;
	memcpy(&e->ebx, rhyve_id, 4);
	memcpy(&e->ecx, rhyve_id + 4, 4);
	memcpy(&e->edx, rhyve_id + 8, 4);
	return o.n;
}

int
vm_cpuid_lookup(const struct vm_cpuid_entry *table, int n, uint32_t leaf,
		uint32_t subleaf, uint32_t regs[4])
{
	if (!vm_cpuid_indexed(leaf))
		subleaf = 0;
	for (int i = 0; i < n; i++) {
		if (table[i].leaf == leaf && table[i].subleaf == subleaf) {
			regs[0] = table[i].eax;
			regs[1] = table[i].ebx;
			regs[2] = table[i].ecx;
			regs[3] = table[i].edx;
			return 0;
		}
	}
	regs[0] = regs[1] = regs[2] = regs[3] = 0;
	return ENOENT;
}

/* ---- per VM and per vCPU ----------------------------------------------- */

int
vm_cpuid_init(struct vm *vm, char *errbuf, size_t errlen)
{
	int n;

	vm->cpuid_cores = vm->cpuid_threads = vm->cpuid_sockets = 1;
	vm->cpuid_base = calloc(VM_CPUID_MAX, sizeof(*vm->cpuid_base));
	if (vm->cpuid_base == NULL)
		return ENOMEM;
	n = vm->engine->cpuid_supported(vm->cookie, vm->cpuid_base,
					VM_CPUID_MAX);
	if (n < 0) {
		snprintf(errbuf, errlen, "%s engine: supported CPUID: %s",
			 vm->engine->name, strerror(-n));
		return -n;
	}
	vm->cpuid_nbase = n;
	return 0;
}

void
vm_cpuid_cleanup(struct vm *vm)
{
	free(vm->cpuid_base);
	vm->cpuid_base = NULL;
}

/* Install 'n' entries as the vCPU's table, in kmod and in the engine. */
static int
vcpu_cpuid_install(struct vcpu *vcpu, const struct vm_cpuid_entry *e, int n)
{
	int error;

	if (n < 0 || n > VM_CPUID_MAX)
		return EINVAL;
	error = vcpu->vm->engine->set_cpuid(vcpu->cookie, e, n);
	if (error != 0)
		return error;
	if (e != vcpu->cpuid)
		memcpy(vcpu->cpuid, e, (size_t)n * sizeof(*e));
	vcpu->ncpuid = n;
	return 0;
}

int
vm_cpuid_vcpu_init(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_cpuid_config cfg = {
		.cores = vm->cpuid_cores,
		.threads = vm->cpuid_threads,
		.deterministic = vm->deterministic,
	};
	int n;

	n = vm_cpuid_build(vm->cpuid_base, vm->cpuid_nbase, &cfg, vcpu->id,
			   vcpu->cpuid, VM_CPUID_MAX);
	if (n < 0)
		return -n;
	return vcpu_cpuid_install(vcpu, vcpu->cpuid, n);
}

static int
vm_cpuid_rebuild(struct vm *vm)
{
	int error;

	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL &&
		    (error = vm_cpuid_vcpu_init(vm->vcpus[i])) != 0)
			return error;
	return 0;
}

int
vm_set_topology(struct vm *vm, int sockets, int cores, int threads)
{
	if (sockets < 1 || cores < 1 || threads < 1 ||
	    sockets * cores * threads > VM_MAXCPU)
		return EINVAL;
	vm->cpuid_sockets = sockets;
	vm->cpuid_cores = cores;
	vm->cpuid_threads = threads;
	return vm_cpuid_rebuild(vm);
}

void
vm_get_topology(const struct vm *vm, int *sockets, int *cores, int *threads)
{
	*sockets = vm->cpuid_sockets;
	*cores = vm->cpuid_cores;
	*threads = vm->cpuid_threads;
}

int
vm_set_deterministic(struct vm *vm, bool on)
{
	vm->deterministic = on;
	return vm_cpuid_rebuild(vm);
}

bool
vm_deterministic(const struct vm *vm)
{
	return vm->deterministic;
}

int
vm_get_cpuid_table(struct vcpu *vcpu, const struct vm_cpuid_entry **tablep)
{
	*tablep = vcpu->cpuid;
	return vcpu->ncpuid;
}

int
vm_set_cpuid_table(struct vcpu *vcpu, const struct vm_cpuid_entry *table, int n)
{
	return vcpu_cpuid_install(vcpu, table, n);
}

int
vm_cpuid(struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	return vm_cpuid_lookup(vcpu->cpuid, vcpu->ncpuid, leaf, subleaf, regs);
}

uint32_t
vm_cpuid_signature(struct vcpu *vcpu)
{
	uint32_t regs[4];

	vm_cpuid(vcpu, 1, 0, regs);
	return regs[0];
}
