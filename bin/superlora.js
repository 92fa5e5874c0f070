#!/usr/bin/env node
'use strict';
require('../dist/cli/main.js')
  .run(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
