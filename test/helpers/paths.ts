import * as path from 'node:path';

/** The repository root, from the compiled test's place in dist/test/... */
export const ROOT = path.resolve(__dirname, '../../..');
export const SAMPLE = path.join(ROOT, 'fixtures/sample.db');
export const CLI = path.join(ROOT, 'bin/tcptop');
export const GOLDEN = path.join(ROOT, 'test/golden');
