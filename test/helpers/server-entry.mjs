// Runs the built server (dist/) in a child process, for tests that kill it (crash-safety).
// Configuration comes from the environment (AGENTRY_DATA_DIR, AGENTRY_ADMIN_TOKEN,
// AGENTRY_DATABASE_URL, AGENTRY_DATABASE_SCHEMA); it prints {"url": ...} once listening.
import { resolveConfig } from '../../dist/app/config.js';
import { startServer } from '../../dist/app/server.js';

const config = resolveConfig({ host: '127.0.0.1', port: 0, logLevel: 'silent' }, process.env);
const server = await startServer(config);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
