#!/usr/bin/env node
'use strict';
// Per-event cost of the probe with FLOWS idle connections open: the kernel's own statistics
// (kernel.bpf_stats_enabled=1, run_time_ns / run_cnt) under iperf3 traffic of small writes.
// Usage, as root from the project root after `npm run build`:
//   (ulimit -n 110000; node bpf/bench/cost.js [FLOWS=0] [SECONDS=5] [WRITE_SIZE=64])
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const { openProbe } = require('../../dist/src/record/probe.js');

const flows = Number(process.argv[2] ?? 0);
const seconds = Number(process.argv[3] ?? 5);
const writeSize = Number(process.argv[4] ?? 64);

function bpftool(...args) {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }));
}

/** N connections (both ends here), each moving one byte each way so it holds a slot, left open. */
async function holdConnections(n) {
  const sockets = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.once('data', () => s.write('y'));
  });
  await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  for (let i = 0; i < n; i += 500) {
    const wave = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      wave.push(new Promise((resolve, reject) => {
        const c = net.connect({ port: server.address().port, host: '127.0.0.1', localAddress: `127.0.${1 + (j % 200)}.${2 + (process.pid % 250)}` });
        c.once('error', reject);
        c.once('connect', () => c.write('x'));
        c.once('data', () => resolve(c));
        sockets.push(c);
      }));
    }
    await Promise.all(wave);
  }
}

/** FLOWS connections spread over worker processes: one process may hold only ~20000 descriptors here. */
async function openIdleFlows(total) {
  const perWorker = 8000;
  const workers = [];
  for (let left = total; left > 0; left -= perWorker) {
    const w = spawn(process.execPath, [__filename, '--hold', String(Math.min(perWorker, left))], { stdio: ['pipe', 'pipe', 'inherit'] });
    workers.push(w);
    await new Promise((resolve, reject) => {
      w.stdout.once('data', resolve);
      w.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
  }
  return workers;
}

async function main() {
  fs.writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  const probe = openProbe({ probe: 'auto' });
  const t0 = Date.now();
  const idle = await openIdleFlows(flows);
  const setupMs = Date.now() - t0;
  let d = process.hrtime.bigint();
  const first = probe.drain();
  const drainMs = Number(process.hrtime.bigint() - d) / 1e6;

  const ours = bpftool('prog', 'show').filter((p) => ['tp_send', 'tp_recv', 'fexit_sendmsg', 'fexit_recvmsg4', 'fexit_recvmsg5', 'fexit_recvmsg6', 'kretprobe_sendmsg', 'kretprobe_recvmsg'].includes(p.name));
  const before = new Map(ours.map((p) => [p.id, p]));

  const server = spawn('iperf3', ['-s', '-1', '-p', '5299'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  execFileSync('iperf3', ['-c', '127.0.0.1', '-p', '5299', '-t', String(seconds), '-l', String(writeSize)], { stdio: 'ignore' });
  await new Promise((r) => server.once('exit', r));

  d = process.hrtime.bigint();
  const drain = probe.drain();
  const drain2Ms = Number(process.hrtime.bigint() - d) / 1e6;
  for (const p of bpftool('prog', 'show')) {
    const b = before.get(p.id);
    if (!b) continue;
    const cnt = p.run_cnt - (b.run_cnt ?? 0);
    const ns = p.run_time_ns - (b.run_time_ns ?? 0);
    console.log(`${p.name}: ${cnt} events, ${(ns / Math.max(cnt, 1)).toFixed(1)} ns/event`);
  }
  console.log(`flows open: ${flows} (setup ${setupMs} ms); drain with them: ${drainMs.toFixed(1)} ms (${first.flows.count} flows), after traffic: ${drain2Ms.toFixed(1)} ms; lost: ${JSON.stringify(drain.lost)}`);
  probe.close();
  for (const w of idle) w.kill();
}

if (process.argv[2] === '--hold') {
  holdConnections(Number(process.argv[3])).then(() => process.stdout.write('ready\n'), (e) => {
    console.error(e.message);
    process.exit(1);
  });
} else main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
