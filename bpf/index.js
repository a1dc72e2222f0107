'use strict';
// The addon: a build from source (build/Release: the project's own checkout, or a host no prebuild fits)
// first, else the prebuilt one for this platform and architecture that the npm package ships.
// Throws where neither loads (MODULE_NOT_FOUND, or dlopen's error); tcptop's record says why.
const fs = require('fs');
const path = require('path');

const built = path.join(__dirname, 'build', 'Release', 'tcptop_bpf.node');
module.exports = require(fs.existsSync(built) ? built : require('./prebuilt').path);
