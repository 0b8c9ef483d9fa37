/*
 * kmod/io/vatpic.c, the 8259A pair, driven through its ports and the
 * INTA interface on a VM without an engine (fake_vm.h): no /dev/kvm.
 */
#include <errno.h>

#include "cunit.h"
#include "fake_vm.h"

static uint8_t
read_reg(struct vm *vm, int cmd, uint8_t ocw3)
{
	fake_outb(vm, cmd, ocw3);
	return fake_inb(vm, cmd);
}

#define IRR(vm, cmd) read_reg(vm, cmd, 0x0a)
#define ISR(vm, cmd) read_reg(vm, cmd, 0x0b)

static void
test_init_sequence(void)
{
	struct vm *vm = fake_vm_create();

	/* Not initialized: requests are not latched, INTR stays low. */
	CU_ASSERT_EQUAL(vatpic_pulse_irq(vm, 3), 0);
	CU_ASSERT_FALSE(fake_intr(vm));
	CU_ASSERT_EQUAL(vatpic_pending_intr(vm), -1);

	fake_pic_init(vm, 0x01);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x21), 0xff);
	CU_ASSERT_EQUAL(fake_inb(vm, 0xa1), 0xff);
	CU_ASSERT_EQUAL(IRR(vm, 0x20), 0); /* the edge before init is gone */
	/* Single mode, no ICW4, or MCS-80/85 mode: refused. */
	CU_ASSERT_EQUAL(fake_outb(vm, 0x20, 0x13), -1);
	CU_ASSERT_EQUAL(fake_outb(vm, 0x20, 0x10), -1);
	CU_ASSERT_EQUAL(fake_outb(vm, 0x20, 0x11), 0);
	CU_ASSERT_EQUAL(fake_outb(vm, 0x21, 0x20), 0);
	CU_ASSERT_EQUAL(fake_outb(vm, 0x21, 0x04), 0);
	CU_ASSERT_EQUAL(fake_outb(vm, 0x21, 0x00), -1);
	/* IRQ2 is the cascade; there is no IRQ16. */
	CU_ASSERT_EQUAL(vatpic_assert_irq(vm, 2), EINVAL);
	CU_ASSERT_EQUAL(vatpic_assert_irq(vm, 16), EINVAL);
	CU_ASSERT_EQUAL(vatpic_assert_irq(vm, -1), EINVAL);
	/* A wide access is split over ascending ports. */
	fake_pic_init(vm, 0x01);
	{
		uint32_t v = 0x5aa5;

		CU_ASSERT_EQUAL(fake_io(vm, false, 0x4d0, 2, &v), 0);
		v = 0;
		CU_ASSERT_EQUAL(fake_io(vm, true, 0x4d0, 2, &v), 0);
		CU_ASSERT_EQUAL(v, 0x5aa5 & 0xdef8);
		v = 0;
		CU_ASSERT_EQUAL(fake_io(vm, true, 0x21, 2, &v), 0);
		CU_ASSERT_EQUAL(v, 0xffff); /* IMR, then nothing at 0x22 */
	}
	fake_vm_destroy(vm);
}

static void
test_edge_and_level(void)
{
	struct vm *vm = fake_vm_create();

	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, (uint8_t) ~(1u << 4));
	/* Two asserters on IRQ4 (COM1 and COM3): a wired OR. */
	vatpic_assert_irq(vm, 4);
	CU_ASSERT_TRUE(fake_intr(vm));
	vatpic_assert_irq(vm, 4);
	CU_ASSERT_FALSE(fake_intr(vm)); /* no new edge */
	CU_ASSERT_EQUAL(fake_inta(vm), 0x24);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 1u << 4);
	CU_ASSERT_EQUAL(IRR(vm, 0x20), 0); /* the edge is consumed */
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_FALSE(fake_intr(vm)); /* held high: no new interrupt */
	vatpic_deassert_irq(vm, 4);
	vatpic_deassert_irq(vm, 4);
	vatpic_deassert_irq(vm, 4); /* one too many: ignored */
	vatpic_assert_irq(vm, 4);
	CU_ASSERT_TRUE(fake_intr(vm));
	CU_ASSERT_EQUAL(fake_inta(vm), 0x24);
	fake_outb(vm, 0x20, 0x20);
	vatpic_deassert_irq(vm, 4);

	/* Level: IRR follows the line, and comes back after each EOI. */
	fake_outb(vm, 0x4d0, 0xff);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x4d0), 0xf8);
	fake_outb(vm, 0x4d1, 0xff);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x4d1), 0xde);
	fake_outb(vm, 0x4d1, 0);
	vatpic_assert_irq(vm, 4);
	CU_ASSERT_TRUE(fake_intr(vm));
	CU_ASSERT_EQUAL(fake_inta(vm), 0x24);
	CU_ASSERT_EQUAL(IRR(vm, 0x20), 1u << 4);
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_TRUE(fake_intr(vm));
	CU_ASSERT_EQUAL(fake_inta(vm), 0x24);
	vatpic_deassert_irq(vm, 4);
	CU_ASSERT_EQUAL(IRR(vm, 0x20), 0);
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_FALSE(fake_intr(vm));
	/* A pulse on a level line is nothing. */
	vatpic_pulse_irq(vm, 4);
	CU_ASSERT_FALSE(fake_intr(vm));
	CU_ASSERT_EQUAL(vatpic_pending_intr(vm), -1);
	/* An edge request stays latched while masked. */
	fake_outb(vm, 0x4d0, 0);
	vatpic_assert_irq(vm, 5);
	fake_outb(vm, 0x21, 0xff);
	CU_ASSERT_EQUAL(IRR(vm, 0x20), 1u << 5);
	fake_vm_destroy(vm);
}

static void
test_cascade_and_spurious(void)
{
	struct vm *vm = fake_vm_create();

	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, (uint8_t) ~((1u << 2) | (1u << 5)));
	fake_outb(vm, 0xa1, (uint8_t) ~(1u << 3));
	/* A slave IRQ: both chips see the INTA. */
	vatpic_pulse_irq(vm, 11);
	CU_ASSERT_TRUE(fake_intr(vm));
	CU_ASSERT_EQUAL(IRR(vm, 0x20), 1u << 2);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x2b);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 1u << 2);
	CU_ASSERT_EQUAL(ISR(vm, 0xa0), 1u << 3);
	fake_outb(vm, 0xa0, 0x20);
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_EQUAL(ISR(vm, 0x20) | ISR(vm, 0xa0), 0);

	/* A level request withdrawn before the INTA: IRQ15. */
	fake_outb(vm, 0x4d1, 1u << 3);
	vatpic_assert_irq(vm, 11);
	CU_ASSERT_TRUE(fake_intr(vm));
	vatpic_deassert_irq(vm, 11);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x2f);
	CU_ASSERT_EQUAL(ISR(vm, 0xa0), 0);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 1u << 2);
	fake_outb(vm, 0x20, 0x20);
	/* And on the master: IRQ7, nothing in service. */
	fake_outb(vm, 0x4d0, 1u << 5);
	vatpic_assert_irq(vm, 5);
	CU_ASSERT_TRUE(fake_intr(vm));
	vatpic_deassert_irq(vm, 5);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x27);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 0);
	/* INTR is down now: nothing more to acknowledge. */
	CU_ASSERT_EQUAL(vatpic_pending_intr(vm), -1);
	fake_vm_destroy(vm);
}

static void
test_priority(void)
{
	struct vm *vm = fake_vm_create();

	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, 0x00);
	fake_outb(vm, 0xa1, 0x00);
	vatpic_pulse_irq(vm, 6);
	vatpic_pulse_irq(vm, 1);
	vatpic_pulse_irq(vm, 9);
	/* Nested: each INTA while the previous level is in service. */
	CU_ASSERT_EQUAL(fake_inta(vm), 0x21);
	CU_ASSERT_EQUAL(fake_inta(vm), -1); /* IR1 blocks all below it */
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_TRUE(fake_intr(vm));
	CU_ASSERT_EQUAL(fake_inta(vm), 0x29);
	fake_outb(vm, 0xa0, 0x20);
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x26);
	fake_outb(vm, 0x20, 0x20);

	/* Specific rotation: IR6 lowest, so IR7 is the highest. */
	fake_outb(vm, 0x20, 0xc6);
	vatpic_pulse_irq(vm, 0);
	vatpic_pulse_irq(vm, 7);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x27);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 1u << 7); /* a real IRQ7 */
	/* Rotate on specific EOI of 7: IR0 is the highest again. */
	fake_outb(vm, 0x20, 0xe7);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x20);
	fake_outb(vm, 0x20, 0x20);

	/* Automatic EOI with rotation: served levels go to the bottom. */
	fake_pic_init(vm, 0x03);
	fake_outb(vm, 0x21, 0x00);
	fake_outb(vm, 0x20, 0x80); /* rotate in AEOI mode */
	vatpic_pulse_irq(vm, 3);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x23);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 0);
	vatpic_pulse_irq(vm, 3);
	vatpic_pulse_irq(vm, 5);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x25); /* IR3 is now the lowest */
	CU_ASSERT_EQUAL(fake_inta(vm), 0x23);
	fake_vm_destroy(vm);
}

static void
test_sfnm_poll_smm(void)
{
	struct vm *vm = fake_vm_create();

	/* Special fully nested mode: a higher slave level gets through. */
	fake_pic_init(vm, 0x11);
	fake_outb(vm, 0x21, 0x00);
	fake_outb(vm, 0xa1, 0x00);
	vatpic_pulse_irq(vm, 12);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x2c);
	vatpic_pulse_irq(vm, 9);
	CU_ASSERT_TRUE(fake_intr(vm));
	CU_ASSERT_EQUAL(fake_inta(vm), 0x29);
	vatpic_pulse_irq(vm, 13);
	CU_ASSERT_EQUAL(fake_inta(vm), -1); /* lower than 12, 9 on the slave */
	/* Without SFNM the master's IR2 in service blocks the slave. */
	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, 0x00);
	fake_outb(vm, 0xa1, 0x00);
	vatpic_pulse_irq(vm, 12);
	CU_ASSERT_EQUAL(fake_inta(vm), 0x2c);
	vatpic_pulse_irq(vm, 9);
	CU_ASSERT_EQUAL(fake_inta(vm), -1);

	/* Poll: an INTA by reading, which drops INTR. */
	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, 0x00);
	vatpic_pulse_irq(vm, 6);
	CU_ASSERT_TRUE(fake_intr(vm));
	fake_outb(vm, 0x20, 0x0c);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x21), 0x86); /* either port */
	CU_ASSERT_EQUAL(vatpic_pending_intr(vm), -1);
	fake_outb(vm, 0x20, 0x0c);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x20), 0);
	/* Special mask mode: a masked in-service level blocks nothing. */
	vatpic_pulse_irq(vm, 7);
	CU_ASSERT_EQUAL(fake_inta(vm), -1);
	fake_outb(vm, 0x21, 1u << 6);
	fake_outb(vm, 0x20, 0x68);
	CU_ASSERT_TRUE(fake_intr(vm));
	CU_ASSERT_EQUAL(fake_inta(vm), 0x27);
	/* A non-specific EOI skips the masked IR6 in special mask mode. */
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 1u << 6);
	fake_outb(vm, 0x20, 0x48);
	fake_outb(vm, 0x20, 0x20);
	CU_ASSERT_EQUAL(ISR(vm, 0x20), 0);
	fake_vm_destroy(vm);
}

static void
test_partial_cleanup(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	/* Cleanup of devices never created, or twice, is harmless. */
	vatpic_cleanup(vm);
	vatpit_cleanup(vm);
	vpmtmr_cleanup(vm);
	CU_ASSERT_EQUAL(vatpic_pending_intr(vm), -1);
	CU_ASSERT_EQUAL(vatpic_assert_irq(vm, 3), ENXIO);
	vatpic_intr_accepted(vm, 0x20);
	free(vm);
}

static CU_TestInfo vatpic_tests[] = {
	{ "ICWs, refusals, wide accesses", test_init_sequence },
	{ "edge, level, shared lines, ELCR", test_edge_and_level },
	{ "cascade, spurious IRQ7 and IRQ15", test_cascade_and_spurious },
	{ "priority, rotation, AEOI", test_priority },
	{ "SFNM, poll, special mask mode", test_sfnm_poll_smm },
	{ "cleanup of a partial VM", test_partial_cleanup },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "kmod/vatpic", vatpic_tests },
	{ NULL, NULL },
};
