#!/bin/bash
# test/citus/build.sh: build and install Citus from the source tree named by
# CITUS_SRC into the system PostgreSQL (the pg_config on PATH, or PG_CONFIG).
#
#   CITUS_SRC=/path/to/citus bash test/citus/build.sh
#
# CITUS_SRC is a Citus source tree, e.g. the public citusdata/citus repository
# checked out at tag v13.2.2 (Citus 13.2 supports PostgreSQL 15). inbox ships no
# Citus code: the tree is the user's, and this script never writes into it. It
# builds in a scratch copy, CITUS_BUILD (default /var/tmp/inbox-citus-build),
# where it makes the one change PostgreSQL 15.20 needs: 15.20 exports
# have_createdb_privilege() from commands/dbcommands.h, and Citus's
# src/include/pg_version_compat.h defines its own static inline copy for
# PostgreSQL < 16, which then clashes with the exported one. The copy guards
# that definition with PG_VERSION_NUM < 150020 and includes the header instead.
#
# Debian packages the build needs (installed with apt-get when run as root and
# one is missing):
#   build-essential autoconf     compiler, make (configure is shipped; autoconf only
#                                if configure.ac is newer than configure)
#   postgresql-server-dev-15     pg_config, PGXS, the server headers
#   liblz4-dev libzstd-dev       columnar compression (configure's --without-lz4 /
#                                --without-zstd would drop them)
#   libkrb5-dev                  gssapi/gssapi.h: PostgreSQL 15 on Debian is built
#                                with ENABLE_GSS, so libpq/libpq-be.h includes it
#   libssl-dev                   openssl headers pulled in by the server headers
# Not needed: libcurl (configured --without-libcurl: it serves only Citus's
# anonymous statistics, which a test cluster must not send), libselinux1-dev,
# libxslt1-dev, libpam0g-dev (pg_config --libs lists them, but PGXS links a
# shared library with SHLIB_LINK, not LIBS).
#
# Re-runs are fast: the build is stamped with the source's identity (git commit
# plus a hash of uncommitted changes, or a hash of every file outside git) and
# the PostgreSQL version; when that stamp matches and the installed citus.so is
# the one built, nothing is done.
set -euo pipefail

if [ -z "${CITUS_SRC:-}" ]; then
	echo "build.sh: set CITUS_SRC to a Citus source tree" >&2
	exit 2
fi
src=$(cd "$CITUS_SRC" && pwd)
if [ ! -f "$src/configure" ] || [ ! -f "$src/src/include/pg_version_compat.h" ]; then
	echo "build.sh: $src is not a Citus source tree (no configure, src/include/pg_version_compat.h)" >&2
	exit 2
fi
pg_config=${PG_CONFIG:-pg_config}
pg_version=$("$pg_config" --version)
pkglibdir=$("$pg_config" --pkglibdir)
build_root=${CITUS_BUILD:-/var/tmp/inbox-citus-build}

need_packages() {
	local missing=() p
	for p in build-essential autoconf postgresql-server-dev-15 liblz4-dev libzstd-dev libkrb5-dev libssl-dev; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "build.sh: installing ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		echo "build.sh: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
		exit 2
	fi
}

# the identity of the source: commit + uncommitted changes, or every file's hash
source_id() {
	if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
		echo "git $(git -C "$src" rev-parse HEAD) $(git -C "$src" diff HEAD | sha1sum | cut -c1-12)"
	else
		echo "tree $(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-12)"
	fi
}

# patch_compat FILE: guard Citus's own have_createdb_privilege() for 15.20+
patch_compat() {
	local file=$1
	grep -q 'inbox build.sh: 15.20 exports have_createdb_privilege' "$file" && return 0
	perl -0pi -e 's{(static inline bool\nhave_createdb_privilege\(void\)\n\{.*?\n\}\n)}{/* inbox build.sh: 15.20 exports have_createdb_privilege() */\n#if PG_VERSION_NUM < 150020\n$1#else\n#include "commands/dbcommands.h"\n#endif\n}s' "$file"
	grep -q 'inbox build.sh: 15.20 exports have_createdb_privilege' "$file" || {
		echo "build.sh: did not find have_createdb_privilege() in $file to guard" >&2
		exit 1
	}
}

need_packages
id="$(source_id) / $pg_version"
key=$(echo "$id" | sha1sum | cut -c1-12)
build="$build_root/$key"

if [ -f "$build/.inbox-stamp" ] && [ "$(cat "$build/.inbox-stamp")" = "$id" ] &&
	cmp -s "$build/src/backend/distributed/citus.so" "$pkglibdir/citus.so"; then
	echo "build.sh: Citus from $src ($id) is already installed"
	exit 0
fi

if [ ! -f "$build/.inbox-stamp" ] || [ "$(cat "$build/.inbox-stamp")" != "$id" ]; then
	# a new source: one scratch copy per identity, older copies removed
	mkdir -p "$build_root"
	find "$build_root" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
	rm -rf "$build"
	mkdir -p "$build"
	(cd "$src" && tar --exclude=.git -cf - .) | (cd "$build" && tar -xf -)
	patch_compat "$build/src/include/pg_version_compat.h"
	echo "build.sh: configuring Citus in $build"
	(cd "$build" && ./configure -q PG_CONFIG="$pg_config" --without-libcurl >configure.log 2>&1) || {
		tail -30 "$build/configure.log" >&2
		exit 1
	}
fi

echo "build.sh: building Citus ($id)"
(cd "$build" && make -s -j"$(nproc)" >build.log 2>&1) || {
	grep -E 'error|Error' "$build/build.log" | head -30 >&2
	exit 1
}
(cd "$build" && make -s install >install.log 2>&1) || {
	tail -30 "$build/install.log" >&2
	exit 1
}
echo "$id" >"$build/.inbox-stamp"
echo "build.sh: installed Citus $(sed -n "s/^default_version = '\\(.*\\)'/\\1/p" "$build/src/backend/distributed/citus.control") into $pkglibdir"
