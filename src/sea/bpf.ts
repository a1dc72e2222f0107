// Stands in for the tcptop-bpf package inside a single executable: its addon, carried as an asset.
import { loadNative } from './natives';

export = loadNative('tcptop_bpf.node');
