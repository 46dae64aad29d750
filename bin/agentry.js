#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    // A command may have set a failing exit code itself (e.g. a session turn that exhausted its retries): keep it.
    process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
  },
  (err) => {
    process.stderr.write(`agentry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
