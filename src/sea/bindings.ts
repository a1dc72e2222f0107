// Stands in for the `bindings` package inside a single executable: better-sqlite3 asks it for its addon.
import { loadNative } from './natives';

export = (file: string): unknown => loadNative(file.endsWith('.node') ? file : `${file}.node`);
