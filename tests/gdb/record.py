# Debugging a run that is being recorded: breakpoints, steps with a timer
# interrupt pending and a stepping watchpoint are the debugger's, not the
# guest's, and are recorded as asynchronous exits; the trace replays to
# the same end without the debugger (run-gdb.sh checks, with the marker
# written here).
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

out = ex("monitor trace status")
check("recording to" in out, "monitor trace status: recording")
ex("hbreak gdb_break_here")
ex("continue")
time.sleep(0.05)
ex("stepi")
ex("stepi")
out = ex("monitor marker gdbtest")
check("written" in out, "monitor marker writes a marker")
ex("delete")
ex("watch gdb_counter")
ex("continue")
check(val("gdb_counter") == 6, "the watchpoint stopped after the write")
ex("delete")
passed()
ex("detach")
