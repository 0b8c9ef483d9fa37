/* The port table and the MMIO range tree, driven with synthetic exits. */
#include <errno.h>
#include <string.h>

#include "cunit.h"
#include "rhyve.h"

/* Handlers only need a vCPU for its id; a fake one is never dereferenced
 * by them, but vcpu_id() is, so tests use a real VM when they need one. */

static uint32_t last_out;
static int calls;

static int
echo_port(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	  void *arg)
{
	calls++;
	if (in)
		*eax = 0x11223344u + (uint32_t)(port - 0x100);
	else
		last_out = *eax;
	return 0;
}

static struct inout_port echo = { "echo",         0x100,     4,
				  IOPORT_F_INOUT, echo_port, NULL };

static void
test_register(void)
{
	struct inout_port overlap = { "x",         0x103,     2,
				      IOPORT_F_IN, echo_port, NULL };
	struct inout_port bad = {
		"x", 0xffff, 2, IOPORT_F_IN, echo_port, NULL
	};

	init_inout();
	CU_ASSERT_EQUAL(register_inout(&echo), 0);
	CU_ASSERT_EQUAL(register_inout(&echo), EEXIST);
	CU_ASSERT_EQUAL(register_inout(&overlap), EEXIST);
	CU_ASSERT_EQUAL(register_inout(&bad), EINVAL);
	CU_ASSERT_EQUAL(unregister_inout(&overlap), ENOENT);
	CU_ASSERT_EQUAL(unregister_inout(&echo), 0);
	CU_ASSERT_EQUAL(register_inout(&overlap), 0);
}

static int
mem_handler(struct vcpu *vcpu, bool write, uint64_t gpa, int size,
	    uint64_t *val, void *arg1, long arg2)
{
	calls++;
	if (!write)
		*val = gpa + (uint64_t)arg2;
	return 0;
}

static void
test_mem_tree(void)
{
	struct mem_range a = { "a", MEM_F_RW, mem_handler, NULL,
			       1,   0x1000,   0x1000 };
	struct mem_range b = { "b",         MEM_F_READ | MEM_F_IMMUTABLE,
			       mem_handler, NULL,
			       2,           0x3000,
			       0x1000 };
	struct mem_range over = { "o", MEM_F_RW, mem_handler, NULL,
				  0,   0x1800,   0x2000 };
	struct mem_range wrap = { "w", MEM_F_RW,   mem_handler, NULL,
				  0,   ~0ULL - 10, 0x100 };

	init_mem(1);
	CU_ASSERT_EQUAL(register_mem(&a), 0);
	CU_ASSERT_EQUAL(register_mem(&b), 0);
	CU_ASSERT_EQUAL(register_mem(&over), EEXIST);
	CU_ASSERT_EQUAL(register_mem(&wrap), EINVAL);
	CU_ASSERT_EQUAL(unregister_mem(&b), EPERM);
	CU_ASSERT_EQUAL(unregister_mem(&over), EINVAL);
	CU_ASSERT_EQUAL(unregister_mem(&a), 0);
	CU_ASSERT_EQUAL(unregister_mem(&a), ENOENT);
	CU_ASSERT_EQUAL(register_mem(&a), 0); /* the place is free again */
}

static void
test_vm_exits(void)
{
	struct mem_range a = { "a", MEM_F_RW, mem_handler, NULL,
			       1,   0x10000,  0x1000 };
	struct mem_range ro = { "ro", MEM_F_READ, mem_handler, NULL,
				2,    0x20000,    0x1000 };
	struct vm_exit ex;
	struct vm *vm;
	struct vcpu *vcpu;
	uint8_t data[64];
	char err[256];

	if (!unit_have_kvm())
		return;
	CU_ASSERT_FATAL(vm_create("inout-test", "kvm", &vm, err, sizeof(err)) ==
			0);
	CU_ASSERT_FATAL(vm_vcpu_create(vm, 0, &vcpu) == 0);
	init_inout();
	init_mem(1);
	CU_ASSERT_EQUAL(register_inout(&echo), 0);

	/* OUT of 2 bytes. */
	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_INOUT;
	ex.u.inout = (struct vm_inout){
		.port = 0x100, .bytes = 2, .in = false, .count = 1, .data = data
	};
	memcpy(data, "\x34\x12", 2);
	CU_ASSERT_EQUAL(emulate_inout(vcpu, &ex, false), 0);
	CU_ASSERT_EQUAL(last_out, 0x1234);

	/* IN of 1 byte at the second port: only one byte is written. */
	memset(data, 0xaa, sizeof(data));
	ex.u.inout = (struct vm_inout){
		.port = 0x101, .bytes = 1, .in = true, .count = 1, .data = data
	};
	CU_ASSERT_EQUAL(emulate_inout(vcpu, &ex, false), 0);
	CU_ASSERT_EQUAL(data[0], 0x45);
	CU_ASSERT_EQUAL(data[1], 0xaa);

	/* REP INSD of 3 elements: three handler calls, three values. */
	calls = 0;
	ex.u.inout = (struct vm_inout){ .port = 0x100,
					.bytes = 4,
					.in = true,
					.string = true,
					.rep = true,
					.count = 3,
					.data = data };
	CU_ASSERT_EQUAL(emulate_inout(vcpu, &ex, false), 0);
	CU_ASSERT_EQUAL(calls, 3);
	CU_ASSERT_EQUAL(memcmp(data + 8, "\x44\x33\x22\x11", 4), 0);

	/* Unclaimed: all-ones, or an error under strict I/O. */
	memset(data, 0xaa, sizeof(data));
	ex.u.inout = (struct vm_inout){
		.port = 0x5555, .bytes = 2, .in = true, .count = 1, .data = data
	};
	CU_ASSERT_EQUAL(emulate_inout(vcpu, &ex, false), 0);
	CU_ASSERT_EQUAL(memcmp(data, "\xff\xff\xaa", 3), 0);
	CU_ASSERT_NOT_EQUAL(emulate_inout(vcpu, &ex, true), 0);
	ex.u.inout.bytes = 3;
	CU_ASSERT_NOT_EQUAL(emulate_inout(vcpu, &ex, false), 0);

	/* MMIO: found through the tree, then through the hint. */
	CU_ASSERT_EQUAL(register_mem(&a), 0);
	CU_ASSERT_EQUAL(register_mem(&ro), 0);
	struct vm_mmio m = { .gpa = 0x10010, .bytes = 4, .write = false };
	CU_ASSERT_EQUAL(emulate_mem(vcpu, &m), 0);
	CU_ASSERT_EQUAL(m.data, 0x10011);
	m.gpa = 0x10ff8;
	CU_ASSERT_EQUAL(emulate_mem(vcpu, &m), 0);
	CU_ASSERT_EQUAL(m.data, 0x10ff9);
	m.gpa = 0x20000;
	CU_ASSERT_EQUAL(emulate_mem(vcpu, &m), 0);
	CU_ASSERT_EQUAL(m.data, 0x20002);
	m.write = true;
	CU_ASSERT_EQUAL(emulate_mem(vcpu, &m), EPERM);
	m.gpa = 0x30000;
	CU_ASSERT_EQUAL(emulate_mem(vcpu, &m), ESRCH);
	/* Unregistering drops the cached hint. */
	m.gpa = 0x10000;
	m.write = false;
	CU_ASSERT_EQUAL(emulate_mem(vcpu, &m), 0);
	CU_ASSERT_EQUAL(unregister_mem(&a), 0);
	CU_ASSERT_EQUAL(emulate_mem(vcpu, &m), ESRCH);

	unregister_inout(&echo);
	vm_destroy(vm);
}

static CU_TestInfo inout_mem_tests[] = {
	{ "port registration", test_register },
	{ "range tree registration", test_mem_tree },
	{ "port and MMIO exits", test_vm_exits },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "inout+mem", inout_mem_tests },
	{ NULL, NULL },
};
