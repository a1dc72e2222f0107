// The byte counters, shared by the live endpoint and the backfill export so both name them the same.
import type { FamilyHeader } from './exposition';

export const BYTE_FAMILIES: readonly { column: 'rx' | 'tx'; header: FamilyHeader }[] = [
  { column: 'rx', header: { name: 'tcptop_received_bytes', type: 'counter', unit: 'bytes', help: 'TCP payload bytes received, as counted by the tcptop recorder' } },
  { column: 'tx', header: { name: 'tcptop_sent_bytes', type: 'counter', unit: 'bytes', help: 'TCP payload bytes sent, as counted by the tcptop recorder' } },
];
