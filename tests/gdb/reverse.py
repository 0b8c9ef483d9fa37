# Reverse execution on a replay of revexec.elf (four rounds, each a call
# of rev_round(i), console output and a timer interrupt awaited with
# HLT): the states gdb saw going forward are the states reverse-stepi and
# reverse-continue land on, then continue goes to the end.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

REGS = ["pc", "sp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
        "r9", "r10", "r11", "r12", "r13", "r14", "r15", "eflags"]


def state():
    s = {r: val("$" + r) for r in REGS}
    s["rev_value"] = val("rev_value")
    s["rev_ticks"] = val("rev_ticks")
    return s


def same(a, b, what):
    diff = [k for k in a if a[k] != b[k]]
    check(not diff, "%s (differs: %s)" % (what, ", ".join(
        "%s 0x%x/0x%x" % (k, a[k], b[k]) for k in diff)))


def position():
    out = gdb.execute("monitor replay", to_string=True)
    m = re.search(r"after exit (\d+)", out)
    return int(m.group(1)) if m else -1


check(val("$pc") == val("&_start"), "stopped at _start before it ran")
start = state()
out = ex("reverse-stepi")
same(state(), start, "reverse-stepi at the start stays there")

# Forward: three hits of rev_round, as references.
ex("hbreak rev_round")
hits = []
for i in range(3):
    ex("continue")
    check(val("$pc") == val("&rev_round") and val("$rdi") == i + 1,
          "hit %d: rev_round(%d)" % (i + 1, i + 1))
    hits.append(state())
check(hits[2]["rev_ticks"] > hits[0]["rev_ticks"],
      "timer interrupts came between the hits")

# Steps forward from the third hit, then back over them.
ex("delete")
steps = [state()]
for i in range(4):
    ex("stepi")
    steps.append(state())
for i in range(4, 0, -1):
    ex("reverse-stepi")
    same(state(), steps[i - 1], "reverse-stepi %d lands on the state before"
         " step %d" % (5 - i, i))

# Across exits: step forward until an exit has been made, then back.
e0 = position()
trail = [state()]
for i in range(400):
    ex("stepi")
    trail.append(state())
    if position() > e0 + 1:
        break
check(position() > e0 + 1, "stepping made exits (%d -> %d)" %
      (e0, position()))
for i in range(len(trail) - 1, max(len(trail) - 8, 0), -1):
    ex("reverse-stepi")
    same(state(), trail[i - 1], "reverse-stepi back across the exits, "
         "step %d" % i)

# reverse-continue: the earlier hits, in turn, then the start.
ex("hbreak rev_round")
ex("continue")
check(val("$rdi") == 4, "continue: the fourth hit")
fourth = state()
ex("reverse-continue")
same(state(), hits[2], "reverse-continue lands on the third hit")
ex("reverse-continue")
same(state(), hits[1], "reverse-continue lands on the second hit")
ex("reverse-continue")
same(state(), hits[0], "reverse-continue lands on the first hit")
out = ex("reverse-continue")
same(state(), start, "reverse-continue with no earlier hit: the start")

# Forward again: the same hits.
ex("continue")
same(state(), hits[0], "continue from the start: the first hit again")

# Watchpoints: forward from the first round's write to the second (a
# stretch the watchpoint single-steps, across the HLT that waits for the
# timer and its interrupt handler); then from the third hit,
# reverse-continue with the watchpoint stops before the second round's
# write (gdb shows the value going back from 14 to 7), and a step on is
# the state the forward watchpoint stopped at.
ex("delete")
ex("watch rev_value")
ex("continue")
check(val("rev_value") == 7, "watch: the first round's write")
ex("continue")
check(val("rev_value") == 14 and val("$rdi") == 2,
      "watch: the second round's write, across the HLT")
w2 = state()
ex("delete")
ex("hbreak rev_round")
ex("continue")
check(val("$rdi") == 3, "continue: the third hit")
ex("delete")
ex("watch rev_value")
ex("reverse-continue")
check(val("rev_value") == 7 and val("$pc") + insn_length(val("$pc")) ==
      w2["pc"], "reverse-continue with the watchpoint: before the second "
      "round's write")
ev = last_stop()
check(isinstance(ev, gdb.BreakpointEvent) and
      ev.breakpoints[0].type == gdb.BP_HARDWARE_WATCHPOINT,
      "gdb reports the watchpoint (Old value = 14, New value = 7)")
ex("stepi")
same(state(), w2, "a step on: the state the forward watchpoint stopped at")
ex("delete")

passed()
ex("continue")
