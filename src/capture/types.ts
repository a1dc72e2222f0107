// Plain data shapes of a capture: what the writer takes and the reader gives back.

/** Address family of a flow, as the classic tool splits its sections. */
export type Family = 4 | 6;

/** What identifies a flow: the process and the connection's two ends. */
export interface FlowKey {
  pid: number;
  /** Process name as the kernel knows it (task comm, at most 15 characters). */
  comm: string;
  family: Family;
  /** Textual address: dotted quad for IPv4, RFC 5952 form for IPv6 (IPv4-mapped stays `::ffff:a.b.c.d`). */
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
  /**
   * The cgroup v2 id of the process when the flow began (0 or absent: unknown). Not part of the flow's identity:
   * a process's sockets to one peer and port are one flow whichever cgroup it was in.
   */
  cgroup?: number;
}

/** One string per distinct flow, for maps keyed by flow. */
export function flowKeyString(k: FlowKey): string {
  return `${k.pid}\0${k.comm}\0${k.family}\0${k.laddr}\0${k.lport}\0${k.raddr}\0${k.rport}`;
}

/** A flow key with its flowKeyString, worked out once. */
export interface KeyedFlow extends FlowKey {
  id: string;
}

/** A flow as stored: its key and the id samples refer to. */
export interface Flow extends FlowKey {
  id: number;
  /** What the flow's cgroup stands for (CaptureReader.cgroupText); absent when the capture does not say. */
  cgroupPath?: string;
  /** The remote address's name, when the recorder looked it up. */
  name?: string;
}

/** The five fields of /proc/loadavg and its raw text. */
export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  running: number;
  tasks: number;
  lastPid: number;
  /** The file's text without its trailing newline, as the classic header prints it. */
  raw: string;
}

/** What the recorder could not attribute to a flow in one interval (e.g. its flow table was full). */
export interface Lost {
  events: number;
  rxBytes: number;
  txBytes: number;
}

/** One interval of a recording. Times are microseconds; wall is UTC since the epoch, mono is CLOCK_MONOTONIC. */
export interface Frame {
  seq: number;
  /** Wall-clock time at the end of the interval. */
  wallUs: number;
  /** Monotonic time at the end of the interval. */
  monoUs: number;
  /** Actual length of the interval, by the monotonic clock. */
  intervalUs: number;
  loadavg: LoadAvg;
  lost: Lost;
}

/** A frame as appended: everything but its sequence number, which the writer gives it. */
export type FrameInput = Omit<Frame, 'seq'>;

/**
 * One frame's flows, as the recorder's drain makes them and the writer appends them: columns, flow i being
 * flows[i] with rx[i] and tx[i] bytes. The drain gives the same flow objects (and key strings) from frame to
 * frame, so a frame costs no object per flow. frameRows turns it into rows, frameFlowsOf rows into it.
 */
export interface FrameFlows {
  count: number;
  flows: readonly KeyedFlow[];
  rx: ArrayLike<number>;
  tx: ArrayLike<number>;
  /**
   * Keys (`KeyedFlow.id`) of flows that ended with this frame: every socket behind them closed. Their bytes up
   * to the end are in this frame or earlier ones; the writer forgets them, and the same key seen again later is
   * a new connection and gets a new flow row. Without it nothing is forgotten.
   */
  ended?: readonly string[];
}

/** A frame's flows as rows, one object per flow, in order: for the views and anything else that is not the writer. */
export function frameRows(f: FrameFlows): FlowBytes[] {
  const rows: FlowBytes[] = new Array(f.count);
  for (let i = 0; i < f.count; i++) {
    const k = f.flows[i];
    rows[i] = { pid: k.pid, comm: k.comm, family: k.family, laddr: k.laddr, lport: k.lport, raddr: k.raddr, rport: k.rport,
      rxBytes: f.rx[i], txBytes: f.tx[i] };
  }
  return rows;
}

/** Rows as a frame's flows (what a hand-made or generated frame starts from); `ended` as in FrameFlows. */
export function frameFlowsOf(rows: readonly FlowBytes[], ended?: readonly string[]): FrameFlows {
  const flows = rows.map((f): KeyedFlow => {
    const key = { pid: f.pid, comm: f.comm, family: f.family, laddr: f.laddr, lport: f.lport, raddr: f.raddr, rport: f.rport };
    return { ...key, id: flowKeyString(key) };
  });
  return { count: rows.length, flows, rx: rows.map((f) => f.rxBytes), tx: rows.map((f) => f.txBytes), ended };
}

/** Bytes one flow moved in one frame, as returned to the application. */
export interface Sample {
  flow: number;
  rxBytes: number;
  txBytes: number;
}

/** A sample with its flow resolved, the unit the views and reports work on. */
export interface FlowBytes extends FlowKey {
  rxBytes: number;
  txBytes: number;
  /** As in Flow: the flow's cgroup path and the remote address's name, when the capture has them. */
  cgroupPath?: string;
  name?: string;
}

/** Adds up the bytes of the same flow across lists. */
export function sumFlows(lists: readonly (readonly FlowBytes[])[]): FlowBytes[] {
  const byKey = new Map<string, FlowBytes>();
  for (const list of lists) {
    for (const f of list) {
      const key = flowKeyString(f);
      const seen = byKey.get(key);
      if (seen) {
        seen.rxBytes += f.rxBytes;
        seen.txBytes += f.txBytes;
      } else {
        byKey.set(key, { ...f });
      }
    }
  }
  return [...byKey.values()];
}
