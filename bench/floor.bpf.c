// SPDX-License-Identifier: Apache-2.0
// The floor for the bench: empty programs on the hooks tcptop's tracing probe uses. What they cost is the
// kernel's dispatch and the statistics' own timing, which every program on these hooks pays.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sock_send_length")
int BPF_PROG(tp_send, struct sock *sk, int ret, int flags)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tp_recv, struct sock *sk, int ret, int flags)
{
	return 0;
}
