// SPDX-License-Identifier: Apache-2.0
// A stand-in for bpftrace's program of T3, for kernels where bpftrace cannot run (the bench's VMs): what
// bpftrace 0.17 generates for `tracepoint:sock:sock_send_length, tracepoint:sock:sock_recv_length
// { @[pid, comm, args->sk] = sum(args->ret); }` (its `bpftool prog dump xlated`), written in C: on the
// classic tracepoints, a key of (pid, comm, sk) built on the stack, a lookup in a per-CPU hash of 4,096
// entries, the sum stored back with an update. The bench measures it beside bpftrace on the host, in the
// same windows, to show how close it is.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct sum_key {
	__u64 pid;
	char comm[16];
	__u64 sk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sum_key);
	__type(value, __u64);
} sums SEC(".maps");

static __always_inline int sum(struct trace_event_raw_sock_msg_length *args)
{
	struct sum_key k = {};
	__u64 *v, n = 0;

	k.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	k.sk = (__u64)args->sk;
	v = bpf_map_lookup_elem(&sums, &k);
	if (v)
		n = *v;
	n += args->ret;
	bpf_map_update_elem(&sums, &k, &n, BPF_ANY);
	return 0;
}

/* named as the floor's programs, which the bench pairs them with */
SEC("tracepoint/sock/sock_send_length")
int tp_send(struct trace_event_raw_sock_msg_length *args)
{
	return sum(args);
}

SEC("tracepoint/sock/sock_recv_length")
int tp_recv(struct trace_event_raw_sock_msg_length *args)
{
	return sum(args);
}
