/*
 * A vCPU's x87/SSE registers in a checkpoint: a CKPT_DEVICE "fpu" per
 * vCPU (docs/trace-format.md) holding FXSAVE64's 512-byte image of
 * vm_get_fpu(), on either engine.  A replay that starts at a checkpoint
 * loads it; one that passes a checkpoint compares what the guest's
 * instructions decide: the control, status and abridged tag words,
 * MXCSR and the registers -- not the last instruction's opcode and
 * pointers, which CPUs keep differently (FOP only on unmasked
 * exceptions, FCS/FDS deprecated) and the interp engine as the SDM's
 * base behaviour.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm_impl.h"

size_t
vm_fpu_get_state(struct vcpu *vcpu, uint8_t *buf)
{
	struct vm_fpu f;

	if (vm_get_fpu(vcpu, &f) != 0)
		return 0;
	memset(buf, 0, VM_FPU_STATE_SIZE);
	memcpy(buf, &f.fcw, 2);
	memcpy(buf + 2, &f.fsw, 2);
	buf[4] = f.ftw;
	memcpy(buf + 6, &f.fop, 2);
	memcpy(buf + 8, &f.fip, 8);
	memcpy(buf + 16, &f.fdp, 8);
	memcpy(buf + 24, &f.mxcsr, 4);
	for (int i = 0; i < 8; i++)
		memcpy(buf + 32 + 16 * i, f.st[i], 10);
	memcpy(buf + 160, f.xmm, sizeof(f.xmm));
	return VM_FPU_STATE_SIZE;
}

static int
fpu_decode(const uint8_t *buf, size_t len, struct vm_fpu *f)
{
	if (len != VM_FPU_STATE_SIZE)
		return EINVAL;
	memset(f, 0, sizeof(*f));
	memcpy(&f->fcw, buf, 2);
	memcpy(&f->fsw, buf + 2, 2);
	f->ftw = buf[4];
	memcpy(&f->fop, buf + 6, 2);
	memcpy(&f->fip, buf + 8, 8);
	memcpy(&f->fdp, buf + 16, 8);
	memcpy(&f->mxcsr, buf + 24, 4);
	for (int i = 0; i < 8; i++)
		memcpy(f->st[i], buf + 32 + 16 * i, 10);
	memcpy(f->xmm, buf + 160, sizeof(f->xmm));
	return 0;
}

int
vm_fpu_set_state(struct vcpu *vcpu, const uint8_t *buf, size_t len)
{
	struct vm_fpu f;
	int error;

	if ((error = fpu_decode(buf, len, &f)) != 0)
		return error;
	return vm_set_fpu(vcpu, &f);
}

bool
vm_fpu_state_matches(struct vcpu *vcpu, const uint8_t *buf, size_t len,
		     char *why, size_t whylen)
{
	struct vm_fpu want, have;

	if (fpu_decode(buf, len, &want) != 0) {
		snprintf(why, whylen, "a %zu-byte x87/SSE state", len);
		return false;
	}
	if (vm_get_fpu(vcpu, &have) != 0)
		return true; /* the engine keeps none to compare */
	if (want.fcw != have.fcw || want.fsw != have.fsw ||
	    want.ftw != have.ftw) {
		snprintf(why, whylen,
			 "FCW/FSW/FTW %04x/%04x/%02x, now %04x/%04x/%02x",
			 want.fcw, want.fsw, want.ftw, have.fcw, have.fsw,
			 have.ftw);
		return false;
	}
	if (want.mxcsr != have.mxcsr) {
		snprintf(why, whylen, "MXCSR %08x, now %08x", want.mxcsr,
			 have.mxcsr);
		return false;
	}
	for (int i = 0; i < 8; i++)
		if (memcmp(want.st[i], have.st[i], 10) != 0) {
			snprintf(why, whylen, "ST(%d) differs", i);
			return false;
		}
	for (int i = 0; i < 16; i++)
		if (memcmp(want.xmm[i], have.xmm[i], 16) != 0) {
			snprintf(why, whylen, "XMM%d differs", i);
			return false;
		}
	return true;
}
