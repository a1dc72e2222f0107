// SPDX-License-Identifier: Apache-2.0
// Thread churn for the benchmarks: starts RATE threads a second, each of which exits at once, and joins
// them, paced by the monotonic clock, until SIGTERM (or stdin closes). Every exit moves the recorder's
// thread-exit count, after which each socket's next event takes the kernel program's slower path.
//
// Usage: churn RATE. Prints "ready" once running and "done THREADS" when it stops.
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void *nothing(void *arg)
{
	return arg;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long rate = argc == 2 ? atol(argv[1]) : 0;
	struct pollfd in = { .fd = 0, .events = POLLIN };
	uint64_t start, threads = 0;

	if (rate <= 0) {
		fprintf(stderr, "usage: churn RATE (threads per second, > 0)\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	start = now_ns();
	while (!stop) {
		uint64_t due = (now_ns() - start) * (uint64_t)rate / 1000000000u;
		pthread_t t;

		if (threads >= due) {
			/* ahead of the pace: wait a millisecond, or for stdin to close */
			if (poll(&in, 1, 1) > 0 && (in.revents & (POLLIN | POLLHUP))) {
				char c;

				if (read(0, &c, 1) <= 0)
					break;
			}
			continue;
		}
		if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0) {
			perror("churn: pthread");
			return 1;
		}
		threads++;
	}
	printf("done %llu\n", (unsigned long long)threads);
	return 0;
}
