import { afterAll } from 'vitest';
import { cleanUpLeftovers } from './leftovers.js';

// After each test file (its own afterAll hooks ran first): close what a failed or forgetful test left open.
afterAll(async () => {
  const left = await cleanUpLeftovers();
  if (left.length > 0) console.warn(`closed what the file left open: ${left.join(', ')}`);
});
