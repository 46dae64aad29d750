import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // A worker runs file after file without re-importing the modules they share (the server's graph
    // costs ~1 CPU-s a file): on 14 API files (both stores) 75-82 CPU-s instead of 113-123, 327-431 s instead
    // of 663-727 s on a loaded machine. Test files must not leave servers, timers or env changes behind.
    isolate: false,
    // CI is a loaded 2-core machine: a CLI test that spawns a dozen processes took 30 s there.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    // Closes the test servers (and removes their temp folders) a file left open, e.g. by failing before its close().
    setupFiles: ['test/helpers/after-file.ts'],
  },
});
