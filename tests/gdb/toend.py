# gdb stays to the end: the guest's power-off reaches it as an exit with
# rhyve's status (W01), the guest having run through to "ok".
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

exits = []
gdb.events.exited.connect(lambda ev: exits.append(ev))
ex("hbreak gdb_break_here")
ex("continue")
check(val("$pc") == val("&gdb_break_here"), "stopped at gdb_break_here")
ex("delete")
ex("continue")
check(len(exits) == 1 and exits[0].exit_code == 1,
      "the guest's end reaches gdb as exit code 1")
check("gdbstub: ok" in console(), "the guest ran to its end")
passed()
