#!/usr/bin/env node
// Rewrites the README's configuration table from the settings declared in src/app/settings.ts
// (run through `npm run docs:settings`, which builds first). test/app/settings-docs.test.ts fails when it is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withSettingsTable } from '../dist/app/settings.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const before = readFileSync(readme, 'utf8');
const after = withSettingsTable(before);
if (after === before) {
  console.log('README.md: the configuration table is current');
} else {
  writeFileSync(readme, after);
  console.log('README.md: the configuration table was rewritten');
}
