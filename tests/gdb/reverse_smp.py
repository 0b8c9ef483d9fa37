# Reverse execution on a replay of four vCPUs (smp_race on interp: one
# vCPU at a time, the turns from the trace, checkpoints of all four):
# going back lands on the states gdb saw going forward, in the same vCPU
# (gdb's thread), with the same registers and shared memory:
#   - hits of a breakpoint on the IPI handler, on the APs and the BSP,
#     found again by reverse-continue one by one, then the start;
#   - single steps of an AP in its handler, undone by reverse-stepi;
#   - continue from the start: the first hit again.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

REGS = ["pc", "sp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
        "r9", "r10", "r11", "r12", "r13", "r14", "r15", "eflags"]
SHARED = ["atomic_count", "racy_count", "racy_ticks", "ipis[0]", "ipis[1]",
          "ipis[2]", "ipis[3]", "ticks[0]", "ticks[1]", "ticks[2]",
          "ticks[3]"]


def state():
    s = {r: val("$" + r) for r in REGS}
    s["thread"] = gdb.selected_thread().num
    for v in SHARED:
        s[v] = val(v)
    return s


def same(a, b, what):
    diff = [k for k in a if a[k] != b[k]]
    check(not diff, "%s (differs: %s)" % (what, ", ".join(
        "%s 0x%x/0x%x" % (k, a[k], b[k]) for k in diff)))


check(len(gdb.selected_inferior().threads()) == 4, "four threads")
check(val("$pc") == val("&_start"), "stopped at _start before it ran")
start = state()

# Forward: hits of the IPI handler, as references, until two were on
# APs (each vCPU sends the next one IPIs).
ex("hbreak on_ipi")
hits = []
while len(hits) < 6 or len([h for h in hits if h["thread"] > 1]) < 2:
    ex("continue")
    check(val("$pc") == val("&on_ipi"), "hit %d: on_ipi" % (len(hits) + 1))
    hits.append(state())
    check(len(hits) < 40, "IPIs reach the APs")
aps = sorted(set(h["thread"] for h in hits if h["thread"] > 1))
print("hits on threads %s" % [h["thread"] for h in hits])
check(hits[-1]["atomic_count"] > hits[0]["atomic_count"],
      "the vCPUs raced on between the hits")

# Steps of the vCPU at the last hit, then back over them.
ex("delete")
steps = [state()]
for i in range(4):
    ex("stepi")
    steps.append(state())
    check(steps[-1]["thread"] == steps[0]["thread"], "stepi stays in the "
          "thread")
for i in range(4, 0, -1):
    ex("reverse-stepi")
    same(state(), steps[i - 1], "reverse-stepi %d lands on the state "
         "before step %d" % (5 - i, i))

# reverse-continue: each earlier hit, in its vCPU, then the start.
ex("hbreak on_ipi")
for i in range(len(hits) - 2, -1, -1):
    ex("reverse-continue")
    same(state(), hits[i], "reverse-continue lands on hit %d (thread %d)" %
         (i + 1, hits[i]["thread"]))
ex("reverse-continue")
same(state(), start, "reverse-continue with no earlier hit: the start")

# Forward again: the same first hit.
ex("continue")
same(state(), hits[0], "continue from the start: the first hit again")
ex("delete")

# Only this thread resumed (scheduler-locking): the trace hands the turn
# on to a vCPU gdb keeps stopped, and the VM stops there, in its thread;
# resuming it goes on as recorded, and reverse-continue comes back.
t = gdb.selected_thread().num
ex("set scheduler-locking on")
ex("continue")
check(gdb.selected_thread().num != t, "the turn went on to thread %d, where"
      " the VM stopped" % gdb.selected_thread().num)
ex("continue")
ex("set scheduler-locking off")
ex("hbreak on_ipi")
ex("continue")
check(val("$pc") == val("&on_ipi"), "all threads on: the next hit")
nxt = state()
ex("stepi")
ex("reverse-stepi")
same(state(), nxt, "reverse-stepi after the turns held by the debugger")
ex("delete")

passed()
ex("continue")
