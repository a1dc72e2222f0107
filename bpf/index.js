'use strict';
// Throws MODULE_NOT_FOUND where the install could not build the addon; tcptop's record says why.
module.exports = require('./build/Release/tcptop_bpf.node');
