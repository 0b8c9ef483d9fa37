# Debugging a replay (--replay with -G): the recording decides what the
# guest does; gdb looks at it with the forward commands (break, stepi,
# watch, registers, memory, threads) and its writes are refused.  The
# replay still ends as recorded (run-gdb.sh checks "end state matches").
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

check(val("$pc") == val("&_start"), "-G w: stopped before the replay ran")
out = gdb.execute("maint packet qSupported", to_string=True)
check("ReverseStep+" in out and "ReverseContinue+" in out,
      "qSupported offers reverse execution on a replay")
out = ex("monitor trace status")
check("replaying" in out, "monitor trace status: replaying")

ex("hbreak gdb_break_here")
ex("continue")
check(val("$pc") == val("&gdb_break_here") and val("$rdi") == 1,
      "break gdb_break_here stops there in the replay (x = 1)")
regs = ex("info registers")
check(val("$cr3") == console_value("cr3"), "cr3 as the guest printed")
check(val("$fs_base") == console_value("fs_base"), "fs_base as printed")
out = ex("x/8gx 0x8000000000")
words = re.findall(r"0x[0-9a-f]{16}", out)
check(words == ["0x%016x" % (0x1111111111111111 * (i + 1)) for i in range(8)],
      "x/8gx through the guest's page tables")

for i in range(3):
    pc = val("$pc")
    n = insn_length(pc)
    ex("stepi")
    check(val("$pc") == pc + n, "stepi %d advances one instruction" % i)

# Writes would make the replay diverge: refused.
before = val("gdb_counter")
try:
    gdb.execute("set var gdb_counter = 77", to_string=True)
    fail("set var was taken on a replay")
except gdb.error as e:
    print("expected: %s" % e)
check(val("gdb_counter") == before, "guest memory unchanged")
rax = val("$rax")
try:
    gdb.execute("set $rax = 0x1234", to_string=True)
    fail("a register write was taken on a replay")
except gdb.error as e:
    print("expected: %s" % e)
gdb.execute("flushregs")
check(val("$rax") == rax, "rax unchanged")

ex("delete")
ex("watch gdb_counter")
ex("continue")
check(val("gdb_counter") == 6 and val("$rdi") == 2,
      "watch gdb_counter stops after the write of the second call")
ex("delete")

out = ex("info threads")
check("vCPU 0, 64-bit mode" in out, "info threads")
out = ex("monitor replay")
check("replay: after exit" in out, "monitor replay says where")

passed()
ex("continue")
