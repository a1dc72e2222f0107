/* SPDX-License-Identifier: Apache-2.0 */
/* What the bench's load programs (load.c, shapes.c) share: the stop flag their signal handler sets, one
 * line on stderr for a failed call, and the monotonic clock. Each defines PROGRAM, its name in messages,
 * before including this. */
#ifndef LOAD_COMMON_H
#define LOAD_COMMON_H
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void fail(const char *what)
{
	fprintf(stderr, PROGRAM ": %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}
#endif
