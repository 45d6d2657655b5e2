#!/usr/bin/env bash
# test/layers.sh: the C files of inbox.so call each other in layers, without
# circles (STYLE.md, "Layers": a file calls only into files below it).
#
# Builds the objects of inbox.so (OBJS of the Makefile, warnings as errors),
# reads their global symbols with nm and draws the file graph: a.o -> b.o when
# a.o uses a symbol that b.o defines.  A circle is a set of files each of which
# reaches every other one through that graph (a strongly connected set of more
# than one file): none of them can be read, tested or changed below the others.
#
# Checks:
#   - the objects build, and nm reads the symbols of every one;
#   - every inbox_* symbol an object uses is defined by one of them (nothing
#     calls a function that no file has, which the loader would find only when
#     the library is loaded);
#   - the circle finder works: with one arrow of the graph reversed and added
#     (b -> a for the first a -> b), it finds the circle of a and b;
#   - there is no circle; else it names the files of each one, with the arrows
#     between them and the symbols behind each arrow;
#   - every arrow points down the order of OBJS, which lists the files layer by
#     layer from the bottom (extension/inbox.h): a file uses only files listed
#     before it; else it names the arrows that point up.
# Then prints the files layer by layer as the graph has them (layer 0 uses no
# other file; layer n uses files of layers below n only).
#
# Usage: bash test/layers.sh        (needs make, a C compiler, pg_config, nm)
# Prints one line per check, finally "N passed, N failed".
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/lib/cluster.sh"	# pass, fail, check
cd "$(dirname "$0")/.." || exit 1

work=$(mktemp -d /tmp/inbox-layers.XXXXXX)
trap 'rm -rf "$work"' EXIT

# the objects of inbox.so, as the Makefile lists them
objs=$(make -s --no-print-directory -f Makefile -f - inbox-layers-objs <<<'inbox-layers-objs: ; @echo $(OBJS)')
if [ -z "$objs" ] || ! make -s WERROR=1 $objs >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	fail "the objects of inbox.so build with warnings as errors"
	echo "$passed passed, $failed failed"
	exit 1
fi
pass "the objects of inbox.so build with warnings as errors ($(wc -w <<<"$objs") files)"

# one line per symbol: "<file> D <symbol>" (defines) or "<file> U <symbol>" (uses)
unread=
for o in $objs; do
	name=$(basename "$o" .o)
	if ! nm -g -P "$o" >"$work/nm" 2>&1; then
		unread="$unread $name"
		continue
	fi
	awk -v f="$name" '$2 == "U" || $2 == "w" || $2 == "v" { print f, "U", $1; next }
		NF >= 2 { print f, "D", $1 }' "$work/nm"
done >"$work/symbols"
check "nm reads the symbols of every object" "${unread:-none unread}" "none unread"

# inbox_* symbols used but defined by no object
check "every inbox_* symbol used is defined by an object" \
	"$(awk '$2 == "D" { defined[$3] = 1 } $2 == "U" && $3 ~ /^inbox_/ { used[$3] = used[$3] " " $1 }
		END { for (s in used) if (!(s in defined)) print s " (used by" used[s] ")" }' "$work/symbols" | sort | tr '\n' ';')" ""

# the graph: "<from> <to> <symbol>" for every symbol <from> uses and <to> defines
awk '$2 == "D" { owner[$3] = $1; next } { uses[NR] = $1 " " $3 }
	END { for (i in uses) { split(uses[i], u, " "); if ((u[2] in owner) && owner[u[2]] != u[1]) print u[1], owner[u[2]], u[2] } }' \
	"$work/symbols" | sort -u >"$work/arrows"
awk '{ print $1, $2 }' "$work/arrows" | sort -u >"$work/edges"
for o in $objs; do basename "$o" .o; done >"$work/files"

# circles FILES EDGES: one line per circle, its files sorted, space separated
# (Tarjan's strongly connected components)
circles() {
	awk 'function visit(v,    i, w, size, members) {
			order[v] = low[v] = ++counter
			stack[++top] = v; onstack[v] = 1
			for (i = 1; i <= nout[v]; i++) {
				w = out[v, i]
				if (!(w in order)) { visit(w); if (low[w] < low[v]) low[v] = low[w] }
				else if (onstack[w] && order[w] < low[v]) low[v] = order[w]
			}
			if (low[v] == order[v]) {
				size = 0; members = ""
				do { w = stack[top--]; onstack[w] = 0; members = members " " w; size++ } while (w != v)
				if (size > 1) print substr(members, 2)
			}
		}
		FILENAME == ARGV[1] { files[++nfiles] = $1; next }
		{ out[$1, ++nout[$1]] = $2 }
		END { for (i = 1; i <= nfiles; i++) if (!(files[i] in order)) visit(files[i]) }' "$1" "$2" |
		while read -r line; do tr ' ' '\n' <<<"$line" | sort | tr '\n' ' ' | sed 's/ $//'; echo; done | sort
}

# the finder, on the graph with one arrow reversed: it must name both ends
read -r a b < <(head -1 "$work/edges")
if [ -n "${a:-}" ]; then
	{ cat "$work/edges"; echo "$b $a"; } >"$work/planted"
	found=$(circles "$work/files" "$work/planted" | grep -E "(^| )$a( |$)" | grep -E "(^| )$b( |$)" | head -1)
	check "the circle finder finds a planted circle ($a -> $b -> $a)" "${found:+found}" found
else
	fail "the circle finder finds a planted circle: the graph has no arrow at all"
fi

# the real graph
circles "$work/files" "$work/edges" >"$work/circles"
if [ -s "$work/circles" ]; then
	while read -r line; do
		n=$(wc -w <<<"$line")
		echo "circle of $n files: $line"
		# the arrows inside the circle and the symbols behind them
		awk -v members=" $line " 'index(members, " " $1 " ") && index(members, " " $2 " ") {
				key = $1 " -> " $2; syms[key] = syms[key] " " $3 }
			END { for (k in syms) print "  " k ":" syms[k] }' "$work/arrows" | sort
	done <"$work/circles"
	fail "no circle among the files of inbox.so: $(awk '{ printf "%s(%s)", (NR > 1 ? "; " : ""), $0 }' "$work/circles")"
else
	pass "no circle among the files of inbox.so"
	# layer of a file: 0 when it uses no other file, else one above the highest it uses
	awk 'FILENAME == ARGV[1] { files[++n] = $1; next } { out[$1, ++nout[$1]] = $2 }
		function layer(f,    i, l, best) {
			if (f in memo) return memo[f]
			best = 0
			for (i = 1; i <= nout[f]; i++) { l = layer(out[f, i]) + 1; if (l > best) best = l }
			return memo[f] = best
		}
		END { for (i = 1; i <= n; i++) print layer(files[i]), files[i] }' "$work/files" "$work/edges" |
		sort -n -k1,1 -k2,2 | awk 'NR == 1 || $1 != last { if (NR > 1) print line; line = "layer " $1 ":"; last = $1 }
			{ line = line " " $2 } END { print line }'
fi

# the order of OBJS: an arrow from a file to one listed after it points up
up=$(awk 'FILENAME == ARGV[1] { position[$1] = FNR; next }
	position[$2] > position[$1] { key = $1 " -> " $2; syms[key] = syms[key] " " $3 }
	END { for (k in syms) print k " (" substr(syms[k], 2) ")" }' "$work/files" "$work/arrows" | sort)
if [ -z "$up" ]; then
	pass "every file uses only files listed before it in OBJS"
else
	echo "$up" | sed 's/^/  up: /'
	fail "every file uses only files listed before it in OBJS: $(wc -l <<<"$up") arrows point up"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
