'use strict';
// tcptop's install step (package.json "install": `npm run install` in a checkout, `npm rebuild tcptop` where installed). Nothing to build where the
// prebuilt addon loads; otherwise a build from source with node-gyp (clang, bpftool, libbpf-dev...: see
// README.md). The project's own checkout always builds, so that its addon is made from the sources beside
// it, not from whatever was prebuilt last. A failed build never fails the install: replay, report, info and
// export need no addon, and record says why it cannot load one.
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

function main() {
  if (process.platform !== 'linux') return;
  if (!fs.existsSync(path.join(__dirname, '..', '.git')) && prebuiltLoads()) return;
  // npm puts its node-gyp on the PATH of install scripts
  const gyp = spawnSync('node-gyp', ['rebuild'], { cwd: __dirname, stdio: 'inherit' });
  if (gyp.status !== 0) {
    console.error('tcptop: the bpf addon did not build (above); tcptop record and the live tool are unavailable, the other commands work');
  }
}

main();
