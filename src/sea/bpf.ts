// Stands in for tcptop's addon (#bpf, bpf/index.js) inside a single executable: its addon, carried as an asset.
import { loadNative } from './natives';

export = loadNative('tcptop_bpf.node');
