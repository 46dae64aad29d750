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
// s3rver removes a key prefix's folder when its last object goes, which can race an upload writing its
// temp file there: the write fails with ENOENT on a stream nobody listens to, and the whole stand-in
// would die. That request fails (500, which the AWS SDK retries); the server must go on serving.
process.on('uncaughtException', (e) => {
  if (e && e.code === 'ENOENT') {
    process.stderr.write(`s3rver: ${e.message}\n`);
    return;
  }
  throw e;
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
