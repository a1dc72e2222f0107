// The native addons of a single executable (tcptop-<version>-linux-<arch>, built by scripts/executable):
// the executable carries them as assets; a shared object loads only from a file, so each is written to a
// fresh private directory, loaded, and removed at once (the loaded mapping outlives the file).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Sea {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

/** The asset key of a native addon: its file name, e.g. better_sqlite3.node. */
export const nativeAssetKey = (file: string): string => `native/${file}`;

const loaded = new Map<string, unknown>();

/** Directories to extract into, the first that allows executable mappings wins (/tmp is often noexec). */
function candidateDirs(): string[] {
  const dirs = [os.tmpdir(), '/dev/shm', process.env.XDG_RUNTIME_DIR, '/var/tmp', path.dirname(process.execPath)];
  return [...new Set(dirs.filter((d): d is string => !!d))];
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/** Loads the native addon `file` (e.g. better_sqlite3.node) carried by this executable. */
export function loadNative(file: string): unknown {
  const done = loaded.get(file);
  if (done) return done;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sea = require('node:sea') as Sea;
  const bytes = Buffer.from(sea.getAsset(nativeAssetKey(file)));
  const tried: string[] = [];
  for (const dir of candidateDirs()) {
    let tmp: string;
    try {
      tmp = fs.mkdtempSync(path.join(dir, 'tcptop-'));
    } catch {
      continue;
    }
    const target = path.join(tmp, file);
    const mod = { exports: {} as unknown };
    try {
      fs.writeFileSync(target, bytes, { mode: 0o500 });
      process.dlopen(mod, target);
      loaded.set(file, mod.exports);
      return mod.exports;
    } catch (err) {
      const why = String((err as Error).message).split('\n')[0];
      // a directory mounted noexec: the next one may do; any other failure is the addon's own
      if (!/failed to map segment|operation not permitted/i.test(why)) throw new Error(`load native addon ${file}: ${lowerFirst(why)}`);
      tried.push(`${dir}: ${why}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const err = new Error(`load native addon ${file}: no directory to extract it to allows loading it (${tried.join('; ')}); set TMPDIR to a writable directory not mounted noexec`);
  (err as NodeJS.ErrnoException).code = 'ENOEXEC';
  throw err;
}
