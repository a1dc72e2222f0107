'use strict';
// Where the prebuilt addon for this host would be: prebuilds/<platform>-<arch>/ (the prebuildify layout),
// built against glibc (bpf/prebuild.sh).
const path = require('path');

exports.path = path.join(__dirname, 'prebuilds', `${process.platform}-${process.arch}`, 'tcptop-bpf.napi.glibc.node');
