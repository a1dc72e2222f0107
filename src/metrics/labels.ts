// Which labels a byte counter carries: the flow's identity reduced to what makes a bounded set of series.
// The same keys as `report --by`, named for Prometheus; an ephemeral (client) port is never a label.
// Plain data in and out.
import type { FlowKey } from '../capture/types';
import { hostOf } from '../report/group';

/** The keys of `report --by` a series can be labelled by; `flow` is not one (it holds the ephemeral port). */
export const LABEL_KEYS = ['host', 'laddr', 'raddr', 'port', 'pid', 'comm'] as const;
export type LabelKey = (typeof LABEL_KEYS)[number];

export const DEFAULT_LABEL_KEYS: readonly LabelKey[] = ['comm', 'host'];

interface LabelColumn {
  /** The label's name; `host` of report is `remote` here, since `host` names the recording host. */
  name: string;
  of(f: FlowKey): string;
}

const COLUMNS: Record<LabelKey, LabelColumn> = {
  host: { name: 'remote', of: (f) => hostOf(f.raddr) },
  laddr: { name: 'laddr', of: (f) => f.laddr },
  raddr: { name: 'raddr', of: (f) => f.raddr },
  // servicePort of report: a client's ephemeral port is the higher of the two.
  port: { name: 'port', of: (f) => String(Math.min(f.lport, f.rport)) },
  pid: { name: 'pid', of: (f) => String(f.pid) },
  comm: { name: 'comm', of: (f) => f.comm },
};

/** Label names for these keys, each once, in a fixed order (so a series' text is the same whatever the order given). */
export function labelNames(keys: readonly LabelKey[]): string[] {
  return LABEL_KEYS.filter((k) => keys.includes(k)).map((k) => COLUMNS[k].name);
}

/** A flow's label values, in the order of labelNames(keys). */
export function labelValues(keys: readonly LabelKey[], f: FlowKey): string[] {
  return LABEL_KEYS.filter((k) => keys.includes(k)).map((k) => COLUMNS[k].of(f));
}

/** Each key once, in the fixed order. */
export function normalizeKeys(keys: readonly LabelKey[]): LabelKey[] {
  return LABEL_KEYS.filter((k) => keys.includes(k));
}
