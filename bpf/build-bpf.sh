#!/bin/sh
# Compile the kernel program and embed it in a libbpf skeleton header for the addon.
# Usage: build-bpf.sh OUTDIR   (called by binding.gyp; writes OUTDIR/tcptop.bpf.o and tcptop.skel.h)
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "tcptop-bpf: $1 not found (apt-get install clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool)" >&2
	exit 1
}
# bpftool lives in /usr/sbin, which a non-root PATH may lack
PATH=$PATH:/usr/sbin:/sbin
need clang
need bpftool

# -mcpu=v3: the program uses atomic fetch-add and compare-and-swap (Linux >= 5.12)
clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I"$here" \
	-c "$here/tcptop.bpf.c" -o "$out/tcptop.bpf.o"
bpftool gen skeleton "$out/tcptop.bpf.o" name tcptop_bpf > "$out/tcptop.skel.h.tmp"
mv "$out/tcptop.skel.h.tmp" "$out/tcptop.skel.h"
