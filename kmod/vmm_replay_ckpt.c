/*
 * Checkpoints in a replay: the first one loaded as the VM's state, later
 * ones applied on the way to a replay's start or compared with the VM's
 * state (registers, pages, the local APIC, the x87/SSE registers) as the
 * replay passes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_replay_impl.h"
#include "io/vio.h"

/* The guest RAM of [gpa, gpa + npages pages), or NULL outside it. */
static uint8_t *
ram_pages(struct vm *vm, uint64_t gpa, uint32_t npages)
{
	uint64_t len = (uint64_t)npages * TRACE_PAGE_SIZE;

	if (npages == 0 || gpa % TRACE_PAGE_SIZE != 0 ||
	    len / npages != TRACE_PAGE_SIZE)
		return NULL;
	return vm_map_gpa(vm, gpa, len);
}

/* Page number of 'gpa' in a flat numbering of RAM (lowmem, then high). */
static uint64_t
ram_page_index(struct vm *vm, uint64_t gpa)
{
	if (gpa < vm->lowmem)
		return gpa / TRACE_PAGE_SIZE;
	return (vm->lowmem + gpa - VM_HIGHMEM_BASE) / TRACE_PAGE_SIZE;
}

static bool
page_zero(const uint8_t *p)
{
	static const uint8_t zero[TRACE_PAGE_SIZE];

	return memcmp(p, zero, TRACE_PAGE_SIZE) == 0;
}

/*
 * The first checkpoint's CPUID events, one vCPU's after another: the
 * table each vCPU ran with, installed as recorded (vmm_cpuid.c).
 */
struct cpuid_load {
	int vcpu; /* -1: none collected */
	int n;
	struct vm_cpuid_entry e[VM_CPUID_MAX];
};

static int
cpuid_load_flush(struct vm *vm, struct cpuid_load *cl, char *errbuf,
		 size_t errlen)
{
	int error;

	if (cl == NULL || cl->vcpu < 0)
		return 0;
	error = vm_set_cpuid_table(vm_vcpu(vm, cl->vcpu), cl->e, cl->n);
	if (error != 0) {
		snprintf(errbuf, errlen,
			 "cannot install the recorded CPUID table of vCPU %d: "
			 "%s",
			 cl->vcpu, strerror(error));
		return -1;
	}
	cl->vcpu = -1;
	cl->n = 0;
	return 0;
}

static int
cpuid_load_add(struct vm *vm, struct cpuid_load *cl,
	       const struct trace_event *ev, char *errbuf, size_t errlen)
{
	if (vm_vcpu(vm, (int)ev->vcpu) == NULL) {
		snprintf(errbuf, errlen,
			 "event %llu: CPUID of vCPU %u, which the VM does not "
			 "have",
			 (unsigned long long)ev->index, ev->vcpu);
		return -1;
	}
	if (cl->vcpu != (int)ev->vcpu &&
	    cpuid_load_flush(vm, cl, errbuf, errlen) != 0)
		return -1;
	if (cl->n == VM_CPUID_MAX) {
		snprintf(errbuf, errlen,
			 "event %llu: more than %d CPUID entries for vCPU %u",
			 (unsigned long long)ev->index, VM_CPUID_MAX, ev->vcpu);
		return -1;
	}
	cl->vcpu = (int)ev->vcpu;
	cl->e[cl->n++] =
	    (struct vm_cpuid_entry){ ev->u.cpuid.leaf, ev->u.cpuid.subleaf,
				     ev->u.cpuid.eax,  ev->u.cpuid.ebx,
				     ev->u.cpuid.ecx,  ev->u.cpuid.edx };
	return 0;
}

/* Where checkpoint 'id' is (the VM's exits), for restarts. */
static void
ckpt_note(struct vm_replayer *rp, uint64_t id, uint64_t exits)
{
	struct replay_ckpt *n;

	if (rp->nckpts > 0 && rp->ckpts[rp->nckpts - 1].id >= id)
		return; /* seen before a restart */
	if (rp->nckpts == rp->ckcap) {
		n = realloc(rp->ckpts,
			    (rp->ckcap * 2 + 16) * sizeof(rp->ckpts[0]));
		if (n == NULL)
			return; /* a restart then starts further back */
		rp->ckpts = n;
		rp->ckcap = rp->ckcap * 2 + 16;
	}
	rp->ckpts[rp->nckpts++] = (struct replay_ckpt){ id, exits };
}

/* The devices whose state a checkpoint holds (CKPT_DEVICE names). */
static const struct ckpt_dev {
	const char *name, *what;
	int (*set)(struct vcpu *, const uint8_t *, size_t);
	bool (*matches)(struct vcpu *, const uint8_t *, size_t, char *, size_t);
} ckpt_devs[] = {
	{ VLAPIC_STATE_NAME, "local APIC", vlapic_set_state,
	  vlapic_state_matches },
	{ VM_FPU_STATE_NAME, "x87/SSE state", vm_fpu_set_state,
	  vm_fpu_state_matches },
	{ VM_VCPU_STATE_NAME, "run state", vm_vcpu_set_state,
	  vm_vcpu_state_matches },
	{ VM_SCHED_STATE_NAME, "scheduler state", vm_sched_set_blob,
	  vm_sched_blob_matches },
};

/*
 * A device's state in a checkpoint: loaded, or compared with the VM's.
 * Devices rhyve does not know (a later format's) are passed over; traces
 * from before a device's state was recorded simply have none.
 */
static int
checkpoint_device(struct vm *vm, const struct trace_event *ev, bool load,
		  char *errbuf, size_t errlen)
{
	struct vcpu *vcpu = vm_vcpu(vm, (int)ev->vcpu);
	const struct ckpt_dev *d = NULL;
	char why[256];
	int error;

	for (size_t i = 0; i < sizeof(ckpt_devs) / sizeof(ckpt_devs[0]); i++)
		if (strcmp(ev->u.ckpt_device.name, ckpt_devs[i].name) == 0)
			d = &ckpt_devs[i];
	if (d == NULL)
		return 0;
	if (vcpu == NULL) {
		snprintf(errbuf, errlen,
			 "event %llu: %s of vCPU %u, which the VM does not "
			 "have",
			 (unsigned long long)ev->index, d->what, ev->vcpu);
		return -1;
	}
	if (load) {
		error =
		    d->set(vcpu, ev->u.ckpt_device.data, ev->u.ckpt_device.len);
		if (error == 0)
			return 0;
		snprintf(errbuf, errlen,
			 "event %llu: cannot load the %s of vCPU %d: %s",
			 (unsigned long long)ev->index, d->what, vcpu->id,
			 strerror(error));
		return -1;
	}
	if (d->matches(vcpu, ev->u.ckpt_device.data, ev->u.ckpt_device.len, why,
		       sizeof(why)))
		return 0;
	snprintf(errbuf, errlen,
		 "checkpoint %s of vCPU %d (event %llu): "
		 "recorded %s",
		 d->what, vcpu->id, (unsigned long long)ev->index, why);
	return -1;
}

/*
 * A checkpoint in the event stream, from its CKPT_BEGIN: with 'load' it
 * becomes the VM's state (the first one, which holds every non-zero page:
 * the others are zeroed), otherwise the VM's state is compared with it
 * (a later one holds the pages written since the one before: each must
 * be equal, and every page the replay wrote since must be among them).
 * Returns 0, or -1 (errbuf says why).
 */
int
replay_checkpoint(struct vm *vm, enum ckpt_mode mode, uint64_t *cindex,
		  char *errbuf, size_t errlen)
{
	bool load = mode != CKPT_VERIFY, first = mode == CKPT_LOAD;
	struct vm_replayer *rp = vm->replayer;
	uint64_t npages = (vm->lowmem + vm->highmem) / TRACE_PAGE_SIZE;
	uint8_t *listed = calloc(npages / 8 + 1, 1);
	uint64_t *dirty = calloc(npages / 64 + 1, 8);
	/* A restart keeps the table installed (KVM takes it only once). */
	bool cpuid = first && !rp->restarted;
	struct cpuid_load *cl = cpuid ? calloc(1, sizeof(*cl)) : NULL;
	struct trace_event *ev = replay_peek(rp);
	uint64_t begin_index;
	char why[512];
	int error = -1;

	if (cl != NULL)
		cl->vcpu = -1;
	begin_index = ev->index;
	*cindex = begin_index;
	rp->checkpoint_id = ev->u.ckpt_begin.id;
	ckpt_note(rp, rp->checkpoint_id, replay_total_exits(vm));
	if (listed == NULL || dirty == NULL || (cpuid && cl == NULL)) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	if (ev->u.ckpt_begin.nvcpus != (uint32_t)vm_vcpu_count(vm)) {
		snprintf(errbuf, errlen,
			 "checkpoint at event %llu has %u vCPUs, the VM %d",
			 (unsigned long long)ev->index, ev->u.ckpt_begin.nvcpus,
			 vm_vcpu_count(vm));
		goto out;
	}
	replay_consume(rp);
	while ((ev = replay_peek(rp)) != NULL &&
	       ev->kind != TRACE_EV_CKPT_END) {
		struct vcpu *vcpu = vm_vcpu(vm, (int)ev->vcpu);
		uint8_t *host;

		switch (ev->kind) {
		case TRACE_EV_REGS:
			if (vcpu == NULL) {
				snprintf(errbuf, errlen,
					 "event %llu: registers of vCPU %u, "
					 "which the VM does not have",
					 (unsigned long long)ev->index,
					 ev->vcpu);
				goto out;
			}
			if (load) {
				for (uint32_t i = 0; i < ev->u.regs.count; i++)
					vm_restore_reg(vcpu,
						       &ev->u.regs.regs[i]);
			} else if (!replay_regs_match(vcpu, ev->u.regs.regs,
						      ev->u.regs.count, why,
						      sizeof(why))) {
				snprintf(errbuf, errlen,
					 "checkpoint registers of vCPU %d "
					 "(event %llu): recorded %s",
					 vcpu->id,
					 (unsigned long long)ev->index, why);
				goto out;
			}
			break;
		case TRACE_EV_CKPT_PAGES:
			host = ram_pages(vm, ev->u.ckpt_pages.gpa,
					 ev->u.ckpt_pages.npages);
			if (host == NULL) {
				snprintf(
				    errbuf, errlen,
				    "event %llu: pages at 0x%llx outside "
				    "the VM's RAM",
				    (unsigned long long)ev->index,
				    (unsigned long long)ev->u.ckpt_pages.gpa);
				goto out;
			}
			for (uint32_t i = 0; i < ev->u.ckpt_pages.npages; i++) {
				uint64_t pg = ram_page_index(
				    vm, ev->u.ckpt_pages.gpa +
					    (uint64_t)i * TRACE_PAGE_SIZE);
				const uint8_t *want =
				    ev->u.ckpt_pages.data +
				    (size_t)i * TRACE_PAGE_SIZE;
				uint8_t *have =
				    host + (size_t)i * TRACE_PAGE_SIZE;

				listed[pg / 8] |= (uint8_t)(1u << (pg % 8));
				if (load) {
					memcpy(have, want, TRACE_PAGE_SIZE);
				} else if (memcmp(have, want,
						  TRACE_PAGE_SIZE) != 0) {
					snprintf(
					    errbuf, errlen,
					    "memory page 0x%llx differs "
					    "from the checkpoint's "
					    "(event %llu)",
					    (unsigned long long)(ev->u
								     .ckpt_pages
								     .gpa +
								 (uint64_t)i *
								     TRACE_PAGE_SIZE),
					    (unsigned long long)ev->index);
					goto out;
				}
			}
			break;
		case TRACE_EV_CPUID:
			if (cpuid &&
			    cpuid_load_add(vm, cl, ev, errbuf, errlen) != 0)
				goto out;
			break;
		case TRACE_EV_CKPT_DEVICE:
			if (checkpoint_device(vm, ev, load, errbuf, errlen) !=
			    0)
				goto out;
			break;
		default:
			/* What later formats add. */
			break;
		}
		replay_consume(rp);
	}
	if (cpuid_load_flush(vm, cl, errbuf, errlen) != 0)
		goto out;
	if (ev == NULL) {
		snprintf(errbuf, errlen,
			 "the trace ends inside the checkpoint at event %llu",
			 (unsigned long long)begin_index);
		goto out;
	}
	replay_consume(rp);
	if (!load && vm_dirty_pages(vm, dirty) != 0) {
		snprintf(errbuf, errlen, "cannot read the dirty-page log");
		goto out;
	}
	for (uint64_t pg = 0; mode != CKPT_APPLY && pg < npages; pg++) {
		uint64_t gpa = pg * TRACE_PAGE_SIZE;
		uint8_t *host;

		if (listed[pg / 8] & (1u << (pg % 8)))
			continue;
		if (gpa >= vm->lowmem)
			gpa = gpa - vm->lowmem + VM_HIGHMEM_BASE;
		if (!load) {
			if (!((dirty[pg / 64] >> (pg % 64)) & 1))
				continue;
			snprintf(errbuf, errlen,
				 "the replay wrote memory page 0x%llx, which "
				 "the recording did not (checkpoint at event "
				 "%llu)",
				 (unsigned long long)gpa,
				 (unsigned long long)begin_index);
			goto out;
		}
		host = vm_map_gpa(vm, gpa, TRACE_PAGE_SIZE);
		if (host != NULL && !page_zero(host))
			memset(host, 0, TRACE_PAGE_SIZE);
	}
	/* From the first checkpoint on, the replay logs what it writes. */
	if (first && vm_dirty_start(vm) != 0) {
		snprintf(errbuf, errlen, "the engine cannot log dirty pages");
		goto out;
	}
	rp->st.checkpoints++;
	error = 0;
out:
	free(cl);
	free(listed);
	free(dirty);
	return error;
}
