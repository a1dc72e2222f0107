#!/bin/sh
# Build the prebuilt addons the npm package ships: prebuilds/linux-<arch>/tcptop-bpf.napi.glibc.node,
# each with its kernel program (built for that architecture) embedded and libbpf, libelf and zlib linked
# statically, so the host needs only libc. Node-API: one file per architecture serves every Node >= 20.
# Usage (from the project root): npm run prebuilds [-- ARCH...]   ARCH: x64, arm64 (default: both)
# Each build runs in a copy of the sources under build/prebuild-<arch>/, apart from the local build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gyp=${npm_config_node_gyp:-}
if [ -z "$gyp" ]; then
	echo "tcptop-bpf: run this through npm, which provides node-gyp: npm run prebuilds" >&2
	exit 1
fi
[ $# -gt 0 ] || set -- x64 arm64
deps=$here/build/deps

# Debian's static archives are built for executables (PIE), and the addon is a shared object: libbpf.a
# reads glibc's stderr pc-relative, and libelf.a keeps its error number in a thread-local of the
# local-exec model; a shared object can hold neither. So libbpf is built from the source of the release
# Debian ships (its headers are the ones the addon compiles against), and libelf.a gets elf_error.c of its
# release compiled again as PIC (configuring all of elfutils takes minutes), its message table checked
# byte for byte against the member it replaces. zlib's archive fits as it is.
libbpf_version=1.1.2
libbpf_sha256=b50ab60637fb713db78aa98e6ca911ddf13c0799d498a1f6ec03ebffc7dca588
libbpf_url=http://deb.debian.org/debian/pool/main/libb/libbpf/libbpf_$libbpf_version.orig.tar.gz
elfutils_version=0.188
elfutils_sha256=fb8b0e8d0802005b9a309c60c1d8de32dd2951b56f0c3a3cb56d21ce01595dff
elfutils_url=http://deb.debian.org/debian/pool/main/e/elfutils/elfutils_$elfutils_version.orig.tar.bz2

fail() {
	echo "tcptop-bpf: $*" >&2
	exit 1
}

# PACKAGE VERSION: the installed Debian package must be of that upstream release
expect_version() {
	have=$(dpkg-query -W -f '${Version}' "$1" 2>/dev/null || true)
	case $have in
	"$2"-* | *:"$2"-*) ;;
	*) fail "$1 is ${have:-not installed}; the prebuild is made from release $2 (Debian 12)" ;;
	esac
}

# URL SHA256 DIR: unpack the source tarball once into $deps/DIR
fetch() {
	[ -d "$deps/$3" ] && return 0
	mkdir -p "$deps"
	curl -fsS -o "$deps/download" "$1" || fail "download $1 failed"
	echo "$2  $deps/download" | sha256sum -c --quiet || fail "$1 is not the release this script pins"
	mkdir "$deps/$3.tmp"
	tar -xf "$deps/download" -C "$deps/$3.tmp" --strip-components=1
	mv "$deps/$3.tmp" "$deps/$3"
	rm "$deps/download"
}

# ARCH CC: $lib/libbpf.a
libbpf_pic() {
	expect_version libbpf-dev "$libbpf_version"
	fetch "$libbpf_url" "$libbpf_sha256" "libbpf-$libbpf_version"
	make -s -C "$deps/libbpf-$libbpf_version/src" BUILD_STATIC_ONLY=1 OBJDIR="$lib/libbpf" CC="$2" \
		EXTRA_CFLAGS=-fPIC "$lib/libbpf/libbpf.a" >"$lib/libbpf.log" 2>&1 || {
		cat "$lib/libbpf.log" >&2
		fail "build libbpf for $1 failed (log above)"
	}
	mv "$lib/libbpf/libbpf.a" "$lib/libbpf.a"
}

# ARCH CC MULTIARCH DEBIAN-ARCH: $lib/libelf.a
libelf_pic() {
	expect_version "libelf-dev:$4" "$elfutils_version"
	fetch "$elfutils_url" "$elfutils_sha256" "elfutils-$elfutils_version"
	# what elf_error.c and the headers it includes ask of configure, as configure answers on glibc
	cat >"$lib/config.h" <<-CONFIG
		#define _GNU_SOURCE 1
		#define ENABLE_NLS 1
		#define HAVE_DECL_MEMPCPY 1
		#define HAVE_DECL_MEMRCHR 1
		#define HAVE_DECL_POWEROF2 1
		#define HAVE_DECL_RAWMEMCHR 1
		#define HAVE_DECL_REALLOCARRAY 1
		#define HAVE_ERROR_H 1
		#define HAVE_ERR_H 1
		#define HAVE_FALLTHROUGH 1
		#define HAVE_GCC_STRUCT 1
		#define HAVE_STDATOMIC_H 1
		#define HAVE_VISIBILITY 1
		#define PACKAGE_NAME "elfutils"
		#include <eu-config.h>
	CONFIG
	(cd "$deps/elfutils-$elfutils_version/libelf" &&
		"$2" -O2 -fPIC -std=gnu99 -I"$lib" -I../lib -I. -c elf_error.c -o "$lib/elf_error.o")
	cp "/usr/lib/$3/libelf.a" "$lib/libelf.a"
	mkdir "$lib/debian"
	(cd "$lib/debian" && ar x ../libelf.a elf_error.o)
	[ "$(objdump -s -j .rodata "$lib/elf_error.o" | tail -n +5)" = "$(objdump -s -j .rodata "$lib/debian/elf_error.o" | tail -n +5)" ] ||
		fail "elf_error.c of elfutils $elfutils_version does not match the installed libelf.a"
	ar r "$lib/libelf.a" "$lib/elf_error.o"
}

for arch in "$@"; do
	case $arch in
	x64) cc=x86_64-linux-gnu-gcc multiarch=x86_64-linux-gnu debarch=amd64 ;;
	arm64) cc=aarch64-linux-gnu-gcc multiarch=aarch64-linux-gnu debarch=arm64 ;;
	*) fail "no prebuild for architecture $arch (x64 and arm64 are supported)" ;;
	esac
	command -v "$cc" >/dev/null 2>&1 ||
		fail "$cc not found (apt-get install gcc-$multiarch libelf-dev:$debarch zlib1g-dev:$debarch, or run scripts/setup --tests)"
	lib=$here/build/deps-$arch
	rm -rf "$lib"
	mkdir -p "$lib"
	libbpf_pic "$arch" "$cc"
	libelf_pic "$arch" "$cc" "$multiarch" "$debarch"

	work=$here/build/prebuild-$arch
	rm -rf "$work"
	mkdir -p "$work"
	cp -R "$here/binding.gyp" "$here/build-bpf.sh" "$here/tcptop.bpf.c" "$here/tcptop.h" "$here/vmlinux.h" \
		"$here/arch" "$here/src" "$work/"
	# CC links too: the addon is C only, and the cross g++ is not needed
	(cd "$work" && CC=$cc CXX=$cc LINK=$cc node "$gyp" rebuild --arch="$arch" -- -Dstatic_libs=1 \
		-Dstatic_lib_dir="$lib" >build.log 2>&1) || {
		cat "$work/build.log" >&2
		fail "prebuild for $arch failed (log above)"
	}
	mkdir -p "$here/prebuilds/linux-$arch"
	cp "$work/build/Release/tcptop_bpf.node" "$here/prebuilds/linux-$arch/tcptop-bpf.napi.glibc.node"
	echo "bpf/prebuilds/linux-$arch/tcptop-bpf.napi.glibc.node"
done
