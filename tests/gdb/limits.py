# The debug registers: four breakpoints/watchpoints at once, a fifth is
# refused (gdb cannot insert it) and the session goes on; then a second
# debugger is refused while this one stays connected; then kill.
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

for fn in ["gdb_break_here", "gdb_spin", "on_irq0", "guest_exit"]:
    ex("hbreak " + fn)
ex("hbreak guest_printf")
try:
    gdb.execute("continue", to_string=True)
    fail("a fifth hardware breakpoint was accepted")
except gdb.error as e:
    print("expected: %s" % e)
    check("hardware breakpoint" in str(e).lower() or
          "Command aborted" in str(e), "the fifth breakpoint is refused")
check(val("$pc") == val("&_start"), "the guest did not move")
ex("delete 5")
ex("continue")
check(val("$pc") == val("&gdb_break_here"), "with four it runs to the first")
ex("delete")

# A second debugger over TCP: accepted and closed at once.
target = os.environ["RHYVE_GDB_TARGET"]
if ":" in target and not target.startswith("/"):
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"+$?#3f")
    s.settimeout(10)
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""  # closed with our packet unread: a reset
    check(data == b"", "a second connection is closed without a reply")
    s.close()
    check(val("$rdi") == 1, "the first debugger still works")

passed()
ex("kill")
