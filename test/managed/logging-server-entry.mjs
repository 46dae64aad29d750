// Runs the built server (dist/) with logs at AGENTRY_LOG_LEVEL (trace for the leak scan), so a
// test can read every log line it writes. Prints {"url": ...} once listening.
import { resolveConfig } from '../../dist/app/config.js';
import { startServer } from '../../dist/app/server.js';

const config = resolveConfig({ host: '127.0.0.1', port: 0 }, process.env);
const server = await startServer(config);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
