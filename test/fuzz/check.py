#!/usr/bin/env python3
"""test/fuzz/check.py: judge the stderr of the fuzz sessions (see fuzz_test.sh).

    python3 check.py WORKDIR SESSIONS

Reads WORKDIR/err.<k> (psql stderr: "@@ <n> <class> <name>" markers from \\warn,
then the error of that call, VERBOSITY verbose) and WORKDIR/session.<k>.sql.
Allowed SQLSTATEs per class come from the environment: ALLOW_api, ALLOW_apilit,
ALLOW_write, ALLOW_guc, ALLOW_read (space separated).
Checks: every call ran, no connection lost, the writes aimed at the invariants
("invariant_*" calls) ran, a view filter refused with 22023 is refused by
inbox's own message, every error allowed for its kind, no elog-style
message, and enough calls succeeded (FUZZ_MIN_OK_SHARE of all,
default 0.2; FUZZ_MIN_CLASS_OK_SHARE of each kind and of the direct INSERTs of
messages, default 0.1).
Prints the SQLSTATE summary, then one "ok:"/"FAILED:" line per check; writes
WORKDIR/verdict with "<passed> <failed>".
"""
import collections
import os
import re
import sys

work, sessions = sys.argv[1], int(sys.argv[2])
allow = {c: set(os.environ.get("ALLOW_" + c, "").split()) for c in ("api", "apilit", "write", "guc", "read")}

err_re = re.compile(r"(?:^|: )(ERROR|FATAL|PANIC):  ([0-9A-Z]{5}): (.*)$")
loc_re = re.compile(r"^LOCATION:  (\S+), (\S+?):(\d+)")

calls = 0
ended = 0
by_state = collections.Counter()                 # (class, sqlstate) -> n
by_fn = collections.defaultdict(collections.Counter)  # fn -> sqlstate -> n
bad = []                                         # (n, class, name, state, msg, location)
elog = []
conn_lost = []
ok_calls = 0
all_results = []                                 # [n, class, name, state, msg, loc, session] of every call


def statement_of(k, n):
    """the statement of call n in session k (for the report)"""
    path = "%s/session.%d.sql" % (work, k)
    marker = "\\warn @@ %d " % n
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(marker):
                s = next(f).rstrip("\n")
                return s if len(s) < 600 else s[:600] + "... (%d chars)" % len(s)
    return "?"


for k in range(1, sessions + 1):
    cur = None                                   # [n, class, name, state, msg, loc]
    results = []
    with open("%s/err.%d" % (work, k), encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("@@ "):
                parts = line.split()
                if parts[1] == "end":
                    ended += 1
                    cur = None
                    continue
                cur = [int(parts[1]), parts[2], parts[3], None, None, None, k]
                results.append(cur)
                calls += 1
                continue
            m = err_re.search(line)
            if m and cur is not None and cur[3] is None:
                cur[3], cur[4] = m.group(2), m.group(3)
                continue
            m = loc_re.match(line)
            if m and cur is not None and cur[5] is None and cur[3] is not None:
                cur[5] = "%s, %s:%s" % (m.group(1), m.group(2), m.group(3))
                continue
            if "connection to server was lost" in line or "server closed the connection" in line:
                conn_lost.append((k, cur[0] if cur else None, line))
    all_results.extend(results)
    for n, cls, name, state, msg, loc, sess in results:
        if state is None:
            ok_calls += 1
            by_state[(cls, "ok")] += 1
            by_fn[name]["ok"] += 1
            continue
        by_state[(cls, state)] += 1
        by_fn[name][state] += 1
        if state not in allow[cls] or state.startswith("XX"):
            bad.append((n, cls, name, state, msg, loc, sess))
        elif msg.startswith("inbox: "):
            elog.append((n, cls, name, state, msg, loc, sess))

print("-- SQLSTATE summary (class, sqlstate: calls)")
for (cls, state), cnt in sorted(by_state.items()):
    print("   %-7s %-6s %7d" % (cls, state, cnt))
print("-- per call")
for name in sorted(by_fn):
    print("   %-28s %s" % (name, " ".join("%s=%d" % kv for kv in sorted(by_fn[name].items()))))

passed = failed = 0


def check(good, text):
    global passed, failed
    if good:
        passed += 1
        print("ok: " + text)
    else:
        failed += 1
        print("FAILED: " + text)


expected_calls = int(os.environ.get("FUZZ_CALLS", "0"))
check(calls >= expected_calls and ended == sessions,
      "%d of %d calls ran, %d of %d sessions reached their end" % (calls, expected_calls, ended, sessions))
check(not conn_lost, "no session lost its connection" + ("" if not conn_lost else ": %s" % conn_lost[:5]))


def show(rows, limit=40):
    seen = collections.Counter()
    for n, cls, name, state, msg, loc, sess in rows:
        key = (name, state, re.sub(r"\d+", "N", msg)[:80])
        seen[key] += 1
        if seen[key] > 2:
            continue
        print("   call %d (%s %s): %s %s [%s]" % (n, cls, name, state, msg[:300], loc))
        print("      " + statement_of(sess, n))
        limit -= 1
        if limit == 0:
            print("   ...")
            break


# the direct writes aimed at the invariants (gen.py, invariant_write_call) ran
shapes = {name: sum(c.values()) for name, c in by_fn.items() if name.startswith("invariant_")}
check(calls < 1000 or shapes, "the writes aimed at the invariants ran: %d calls of %d shapes"
      % (sum(shapes.values()), len(shapes)))
# a filter that is no object is inbox's own error, not jsonb_object_keys' (both 22023)
filter_errors = [r for r in all_results if r[2].startswith("invariant_view_filter") and r[3] == "22023"]
unnamed = [r for r in filter_errors if not r[4].startswith("invalid filter of view")]
check(not unnamed, "every view filter refused with 22023 is refused by inbox, naming the problem (%d of %d are not)"
      % (len(unnamed), len(filter_errors)))
show(unnamed, 5)
check(not bad, "every error has an allowed SQLSTATE for its kind of call (%d do not)" % len(bad))
show(bad)
check(not elog, "no elog-style \"inbox: ...\" internal message (%d)" % len(elog))
show(elog)
errors = sum(v for (c, s), v in by_state.items() if s != "ok")
print("   %d calls: %d succeeded, %d raised an error" % (calls, ok_calls, errors))

# hostile input must not mean that nothing gets through: a run where (almost)
# every call fails (a broken setup, a role without grants, a rule refusing
# everything) tests only the error paths
min_share = float(os.environ.get("FUZZ_MIN_OK_SHARE", "0.2"))
min_class_share = float(os.environ.get("FUZZ_MIN_CLASS_OK_SHARE", "0.1"))
check(calls > 0 and ok_calls >= min_share * calls,
      "at least %d %% of the calls succeeded (%d of %d)" % (round(100 * min_share), ok_calls, calls))
for cls in sorted({c for (c, s) in by_state}):
    n = sum(v for (c, s), v in by_state.items() if c == cls)
    good = by_state.get((cls, "ok"), 0)
    check(good >= min_class_share * n,
          "at least %d %% of the %s calls succeeded (%d of %d)" % (round(100 * min_class_share), cls, good, n))
# direct INSERTs of messages exercise the rules as plain SQL does (auto-open,
# assignment, counts): some must get through, not only be refused
n = sum(by_fn["insert_message"].values())
good = by_fn["insert_message"].get("ok", 0)
check(n > 0 and good >= min_class_share * n,
      "at least %d %% of the direct INSERTs of messages succeeded (%d of %d)" % (round(100 * min_class_share), good, n))
with open("%s/verdict" % work, "w") as f:
    f.write("%d %d\n" % (passed, failed))
