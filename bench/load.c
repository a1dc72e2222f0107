// SPDX-License-Identifier: Apache-2.0
// Loopback TCP load for the benchmarks: CONNS connections with both ends in this process, driven by
// commands on stdin, one per line:
//
//   touch        one small send and its receive on every connection, as fast as it goes; answers "touched"
//   pump RATE    sends and receives round-robin over all connections at RATE events per second (a send
//                and its receive are two events), until the next command; "pump 0" stops
//   storm RATE SECONDS
//                opens RATE new connections a second for SECONDS, each from another client address in
//                127/8 (a flow of its own), moves SIZE bytes each way on it and closes it; answers
//                "stormed N" (connections made). The pump waits meanwhile.
//
// Usage: loadgen CONNS [SIZE=64 [spread]]. With "spread", connection i's client end is bound to an address
// of its own in 127/8 (127.1.0.0 on, as the storm's), so each connection is another remote host to the
// server end. Prints "ready CONNS" once connected; exits when stdin closes (or on
// SIGTERM), printing "done STEPS" (send+receive pairs). One process may hold only about 20,000
// descriptors on the bench machines: the bench runs several for more connections.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "loadgen"
#include "load-common.h"

static int *client, *server;
static long conns, size;
static int spread;
static char buf[4096];
static uint64_t steps;

/* One send on connection i's client end and the receive of it on its server end. */
static void step(long i)
{
	ssize_t n;

	if (write(client[i], buf, size) < 0 && !stop)
		fail("send");
	do
		n = read(server[i], buf, (size_t)size * 4 < sizeof(buf) ? (size_t)size * 4 : sizeof(buf));
	while (n < 0 && errno == EINTR && !stop);
	if (n < 0 && !stop)
		fail("receive");
	steps++;
}

/* Reads exactly len bytes. */
static void read_all(int fd, long len)
{
	while (len > 0 && !stop) {
		ssize_t n = read(fd, buf, (size_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("receive");
		len -= n;
	}
}

/* 127.a.b.c, a client address of its own for connection n */
static struct sockaddr_in client_address(long n)
{
	uint32_t host = 0x7f000000u | ((uint32_t)(1 + (n >> 16) % 254) << 16) | ((uint32_t)n & 0xffffu);
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(host) };

	return from;
}

/* The storm command: connections made, used and closed at a steady rate; returns how many. */
static long storm(double rate, double seconds)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(to);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
	long n = 0;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&to, sizeof(to)) || listen(lfd, 128) ||
	    getsockname(lfd, (struct sockaddr *)&to, &len))
		fail("listen on 127.0.0.1");
	while (!stop) {
		uint64_t now = now_ns();

		if (now >= end)
			break;
		if ((double)n >= (double)(now - start) * rate / 1e9) {
			struct timespec nap = { 0, 200000 };

			nanosleep(&nap, NULL);
			continue;
		}
		struct sockaddr_in from = client_address(n);
		int c = socket(AF_INET, SOCK_STREAM, 0), s;

		if (c < 0 || bind(c, (struct sockaddr *)&from, sizeof(from)) || connect(c, (struct sockaddr *)&to, sizeof(to)))
			fail("storm: connect");
		s = accept(lfd, NULL, NULL);
		if (s < 0)
			fail("storm: accept");
		if (write(c, buf, size) != size)
			fail("storm: send");
		read_all(s, size);
		if (write(s, buf, size) != size)
			fail("storm: send back");
		read_all(c, size);
		close(c);
		close(s);
		n++;
	}
	close(lfd);
	return n;
}

/* The next command line from stdin, waiting at most timeout_ms (-1: forever). 0: none yet, -1: stdin closed. */
static int next_command(char *line, size_t cap, int timeout_ms)
{
	static char pending[256];
	static size_t have;
	char *nl;

	for (;;) {
		nl = memchr(pending, '\n', have);
		if (nl) {
			size_t len = (size_t)(nl - pending);

			if (len >= cap)
				len = cap - 1;
			memcpy(line, pending, len);
			line[len] = 0;
			have -= (size_t)(nl - pending) + 1;
			memmove(pending, nl + 1, have);
			return 1;
		}
		struct pollfd in = { .fd = 0, .events = POLLIN };
		int r = poll(&in, 1, timeout_ms);

		if (stop)
			return -1;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		ssize_t n = read(0, pending + have, sizeof(pending) - 1 - have);

		if (n <= 0)
			return -1;
		have += (size_t)n;
		timeout_ms = 0;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	double rate = 0;
	char line[64];
	int lfd, one = 1;
	long next = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: loadgen CONNS [SIZE [spread]]\n");
		return 2;
	}
	conns = strtol(argv[1], NULL, 10);
	size = argc > 2 ? strtol(argv[2], NULL, 10) : 64;
	spread = argc > 3 && strcmp(argv[3], "spread") == 0;
	if (conns < 1 || size < 1 || size > (long)sizeof(buf) / 4 || (argc > 3 && !spread))
		return 2;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	memset(buf, 'x', sizeof(buf));

	client = calloc(conns, sizeof(int));
	server = calloc(conns, sizeof(int));
	if (!client || !server)
		fail("calloc");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 128) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		fail("listen on 127.0.0.1");
	// On loopback the handshake completes inside connect(), so connecting and accepting in turn never
	// fills the backlog.
	for (long i = 0; i < conns; i++) {
		client[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (client[i] < 0)
			fail("socket");
		if (spread) {
			struct sockaddr_in from = client_address(i);

			if (bind(client[i], (struct sockaddr *)&from, sizeof(from)))
				fail("bind a client address in 127/8");
		}
		if (connect(client[i], (struct sockaddr *)&addr, sizeof(addr)))
			fail("connect");
		server[i] = accept(lfd, NULL, NULL);
		if (server[i] < 0)
			fail("accept");
		// small writes must not wait for the peer's delayed ACK
		setsockopt(client[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	close(lfd);
	printf("ready %ld\n", conns);
	fflush(stdout);

	uint64_t start = 0;
	int64_t base = 0; /* steps done before the pump began, less those forgotten */

	while (!stop) {
		// Paced by the monotonic clock: every half millisecond, the steps due by now. A backlog (the
		// machine was busy) is caught up by at most 50 ms of steps, so the rate stays even.
		int r = next_command(line, sizeof(line), rate > 0 ? 0 : -1);

		if (r < 0)
			break;
		if (r > 0) {
			if (strcmp(line, "touch") == 0) {
				for (long i = 0; i < conns && !stop; i++)
					step(i);
				printf("touched\n");
				fflush(stdout);
			} else if (strncmp(line, "storm ", 6) == 0) {
				char *rest;
				double per_second = strtod(line + 6, &rest);
				long made = storm(per_second, strtod(rest, NULL));

				printf("stormed %ld\n", made);
				fflush(stdout);
				start = now_ns();
				base = (int64_t)steps;
			} else if (strncmp(line, "pump ", 5) == 0) {
				rate = strtod(line + 5, NULL);
				start = now_ns();
				base = (int64_t)steps;
			}
			continue;
		}
		int64_t due = base + (int64_t)((double)(now_ns() - start) * rate / 2e9);
		int64_t cap = (int64_t)(rate / 40);

		if (due > (int64_t)steps + cap) {
			// behind by more than 50 ms: forget the excess instead of bursting
			base -= due - (int64_t)steps - cap;
			due = (int64_t)steps + cap;
		}
		while ((int64_t)steps < due && !stop) {
			step(next);
			if (++next == conns)
				next = 0;
		}
		struct timespec nap = { 0, 500000 };
		nanosleep(&nap, NULL);
	}
	printf("done %llu\n", (unsigned long long)steps);
	fflush(stdout);
	return 0;
}
