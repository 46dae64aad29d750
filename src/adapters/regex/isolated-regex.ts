import { Worker } from 'node:worker_threads';
import type { RegexTest } from '../../core/evals/eval-spec.js';

/** The worker's whole program: one test of one pattern against one text. */
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.postMessage(new RegExp(workerData.pattern, workerData.flags).test(workerData.text));
`;

/**
 * A regex verifier's test run off the server's event loop: in a worker thread that is stopped after
 * `timeoutMs`. An eval's pattern is the user's and the text is a model's, so a pattern that
 * backtracks catastrophically must cost its own trial a timeout, never the server's other requests.
 */
export const isolatedRegexTest =
  (timeoutMs = 2000): RegexTest =>
  (pattern, flags, text) =>
    new Promise((resolve, reject) => {
      const worker = new Worker(PROGRAM, { eval: true, workerData: { pattern, flags, text }, resourceLimits: { maxOldGenerationSizeMb: 64 } });
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`the pattern took longer than ${timeoutMs} ms to test (catastrophic backtracking?)`));
      }, timeoutMs);
      worker.once('message', (matched: unknown) => {
        clearTimeout(timer);
        void worker.terminate();
        resolve(matched === true);
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
