'use strict';
// npm's install step: nothing to build where the prebuilt addon loads; otherwise build from source with
// node-gyp (clang, bpftool, libbpf-dev...: see README.md). The project's own checkout always builds, so
// that its addon is made from the sources beside it, not from whatever was prebuilt last.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const prebuilt = require('./prebuilt');

function prebuiltLoads() {
  try {
    require(prebuilt.path);
    return true;
  } catch {
    return false;
  }
}

if (!fs.existsSync(path.join(__dirname, '..', '.git')) && prebuiltLoads()) process.exit(0);
// npm puts its node-gyp on the PATH of install scripts
const gyp = spawnSync('node-gyp', ['rebuild'], { cwd: __dirname, stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(gyp.status ?? 1);
