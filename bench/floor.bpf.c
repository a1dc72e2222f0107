// SPDX-License-Identifier: Apache-2.0
// References for the bench, on the hooks tcptop's tracing probe uses:
//   built as is: empty programs, the floor. What they cost is the kernel's dispatch and the statistics'
//     own timing, which every program on these hooks pays.
//   with -DTCPTOP_BENCH_ADD: one atomic add of the bytes into one element of a small array, the least a
//     program that counts anything in memory does, without finding out whose bytes they are.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#ifdef TCPTOP_BENCH_ADD
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} total SEC(".maps");

static __always_inline void add(__u32 dir, int ret)
{
	__u64 *n = bpf_map_lookup_elem(&total, &dir);

	if (n && ret > 0)
		__sync_fetch_and_add(n, ret);
}
#else
static __always_inline void add(__u32 dir, int ret)
{
}
#endif

SEC("tp_btf/sock_send_length")
int BPF_PROG(tp_send, struct sock *sk, int ret, int flags)
{
	add(1, ret);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tp_recv, struct sock *sk, int ret, int flags)
{
	add(0, ret);
	return 0;
}
