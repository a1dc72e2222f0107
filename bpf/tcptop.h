/* SPDX-License-Identifier: Apache-2.0 */
/* Structs shared by the kernel program and the addon: fixed-width types, explicit padding. */
#ifndef TCPTOP_H
#define TCPTOP_H

#define TCPTOP_COMM_LEN 16

/* Flow slots in the kernel's table; the addon may lower or raise it before load. */
#define TCPTOP_DEFAULT_SLOTS 131072

/* The counts are kept in up to this many lanes, one per CPU (by the CPU's number, modulo the lanes), so that
 * CPUs adding to one flow at once do not pass its cache line between them; drain sums them. */
#define TCPTOP_MAX_LANES 4

/* How many processes may share one socket before further ones go to the lost counters. */
#define TCPTOP_PIDS_PER_SOCK 4

/* How many slots a new flow tries before its bytes go to the lost counters: its home first, then slots its
 * hash picks. A table of fewer slots is tried whole. */
#define TCPTOP_PROBES 64

/* Life of a slot: the kernel moves FREE -> TAKEN -> ACTIVE -> CLOSED (or TAKEN -> FREE when another thread
 * made the flow first), userspace CLOSED -> FREE. */
enum tcptop_slot_state {
	TCPTOP_SLOT_FREE = 0,
	TCPTOP_SLOT_ACTIVE = 1,
	TCPTOP_SLOT_CLOSED = 2, /* socket destroyed: counts are final until userspace frees it */
	TCPTOP_SLOT_TAKEN = 3, /* being filled in by a program: not yet a flow */
};

/* What a flow is, written once when its slot is taken. Addresses in network byte order. */
struct tcptop_flow_ident {
	__u32 pid; /* tgid */
	__u16 family; /* 4 or 6, by the socket's family */
	__u16 lport;
	__u16 rport;
	__u16 _pad0;
	__u32 _pad1;
	__u8 laddr[16]; /* IPv4 uses the first 4 bytes */
	__u8 raddr[16];
	char comm[TCPTOP_COMM_LEN];
	__u64 cgroup; /* cgroup v2 id (the cgroup directory's inode number) of the process that took the slot; 0 unknown */
};

/* One slot of the flows map: what the flow is and where it is in its life. */
struct tcptop_flow_info {
	__u32 state; /* enum tcptop_slot_state */
	__u32 gen; /* bumped each time the slot is taken, so a reader can tell reuse apart */
	struct tcptop_flow_ident id;
};

/* The same slot of the counts map (in each lane), apart from the identity so that the memory events touch
 * stays dense: 32 bytes a flow, two to a cache line. Counters are cumulative since the slot was taken. cookie and pid
 * say whose bytes may be added here without asking the socket's storage: a socket's cookie is unique
 * since boot and never reused, so a slot found by it belongs to that socket. 0: none (yet). */
struct tcptop_flow_counts {
	__u64 rx_bytes;
	__u64 tx_bytes;
	__u64 cookie;
	__u32 pid; /* tgid */
	__u32 _pad;
};

/* A flow as drain() hands it over: its counts and its slot's identity and state, read together. */
struct tcptop_flow_slot {
	__u64 rx_bytes;
	__u64 tx_bytes;
	__u32 state; /* enum tcptop_slot_state: ACTIVE or CLOSED */
	__u32 gen;
	struct tcptop_flow_ident id;
};

/* Which way a counted event went; the programs keep one counter per CPU, direction and way (the paths
 * map, index dir * TCPTOP_PATHS + way, RX = 0, TX = 1), so anyone can see on their own kernel how often
 * the hot path is taken. */
enum tcptop_path {
	TCPTOP_PATH_HOME = 0, /* the flow's home slot, found by the socket's cookie */
	TCPTOP_PATH_CACHED = 1, /* the socket's storage read from its cache, with an entry for the process */
	TCPTOP_PATH_LOOKUP = 2, /* the helper bpf_sk_storage_get, the entry claimed (kprobes: a hash) */
	TCPTOP_PATH_LOST = 3, /* no slot or no storage: counted in lost_events only */
	TCPTOP_PATHS = 4,
};

/* Per socket (sk storage, or a hash keyed by the sock pointer for kprobes): (tgid << 32) | (slot + 1).
 * An entry never changes once set. */
struct tcptop_sock_flows {
	__u64 entry[TCPTOP_PIDS_PER_SOCK];
};

/* A kprobe entry waiting for its return, per thread. */
struct tcptop_inflight {
	__u64 sk;
	__u32 flags;
	__u32 _pad;
};

/* What the addon's drain() returns: this header, then nrecords records. The addon exports where each
 * field lies (its layout), which the TypeScript decoder checks its own offsets against. */
struct tcptop_snapshot_header {
	__u64 lost_events;
	__u64 lost_rx_bytes;
	__u64 lost_tx_bytes;
	__u32 nrecords;
	__u32 record_size;
};

struct tcptop_snapshot_record {
	__u32 slot;
	__u32 _pad;
	struct tcptop_flow_slot flow;
};

#endif /* TCPTOP_H */
