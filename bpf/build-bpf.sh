#!/bin/sh
# Compile the kernel program and embed it in a libbpf skeleton header for the addon.
# Usage: build-bpf.sh OUTDIR [ARCH]   (called by binding.gyp; writes OUTDIR/tcptop.bpf.o and tcptop.skel.h)
# ARCH is the addon's architecture in Node's words (x64, arm64; default x64): the kernel program is
# built for the same one, since kprobe arguments sit in the architecture's registers.
set -eu
out=$1
arch=${2:-x64}
here=$(cd "$(dirname "$0")" && pwd)

# from here on "$@" holds the architecture's extra compiler flags
case $arch in
x64) target=x86 && set -- ;;
arm64) target=arm64 && set -- -include "$here/arch/arm64.h" ;;
*)
	echo "tcptop-bpf: no kernel program for architecture $arch (x64 and arm64 are supported)" >&2
	exit 1
	;;
esac

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "tcptop-bpf: $1 not found (apt-get install clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool)" >&2
	exit 1
}
# bpftool lives in /usr/sbin, which a non-root PATH may lack
PATH=$PATH:/usr/sbin:/sbin
need clang
need bpftool
mkdir -p "$out"

# -mcpu=v3: the program uses atomic fetch-add and compare-and-swap (Linux >= 5.12)
clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$target "$@" -I"$here" \
	-c "$here/tcptop.bpf.c" -o "$out/tcptop.bpf.o"
bpftool gen skeleton "$out/tcptop.bpf.o" name tcptop_bpf > "$out/tcptop.skel.h.tmp"
mv "$out/tcptop.skel.h.tmp" "$out/tcptop.skel.h"
