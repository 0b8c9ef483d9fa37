#!/usr/bin/env python3
"""What 'rhyvetrace dump --json FILTERS' should print, from the unfiltered
dump: filtercheck.py ALL.json GOT.json FILTER-ARGS...; exit 1 if GOT is
not exactly the events of ALL that pass the filters, in order."""
import json
import sys

allev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
got = [json.loads(l)["index"] for l in open(sys.argv[2], encoding="utf-8")]
a = sys.argv[3:]
opt = dict(zip(a[0::2], a[1::2]))


def num(s):
    return int(s, 0)


def rng(s):
    lo, _, hi = s.partition("-")
    return num(lo), num(hi or lo)


def ok(e):
    if "--kind" in opt and e["kind"] not in opt["--kind"].split(","):
        return False
    if "--vcpu" in opt and e["vcpu"] != num(opt["--vcpu"]):
        return False
    if "--from" in opt and e["index"] < num(opt["--from"]):
        return False
    if "--to" in opt and e["index"] > num(opt["--to"]):
        return False
    if "--port" in opt:
        lo, hi = rng(opt["--port"])
        if e["kind"] != "pio" or not lo <= num(e["port"]) <= hi:
            return False
    if "--rip" in opt:
        lo, hi = rng(opt["--rip"])
        if e["kind"] != "exit" or not lo <= num(e["rip"]) <= hi:
            return False
    if "--addr" in opt:
        lo, hi = rng(opt["--addr"])
        if e["kind"] == "mmio":
            a0, n = num(e["gpa"]), e["bytes"]
        elif e["kind"] == "dma":
            a0, n = num(e["gpa"]), e["len"]
        elif e["kind"] == "ckpt_pages":
            a0, n = num(e["gpa"]), 4096 * e["npages"]
        else:
            return False
        if not (a0 <= hi and a0 + max(n, 1) - 1 >= lo):
            return False
    return True


want = [e["index"] for e in allev if ok(e)]
if "--limit" in opt:
    want = want[: num(opt["--limit"])]
if got != want:
    print("filter", a, ": got", len(got), "events, want", len(want))
    print("  got ", got[:20])
    print("  want", want[:20])
    sys.exit(1)
