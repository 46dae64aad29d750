// Runs s3rver (the local S3-compatible test stand-in) for test/helpers/s3.ts: argv[2] is its
// folder, argv[3] the bucket; prints {"port":…} once it listens and stops on SIGTERM.
import S3rver from 's3rver';

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: process.env.S3RVER_LOG !== '1',
  directory: process.argv[2],
  configureBuckets: [{ name: process.argv[3] }],
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => {
  server.close().then(() => process.exit(0), () => process.exit(1));
});
