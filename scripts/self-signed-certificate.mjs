import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Writes a self-signed certificate for 127.0.0.1 (EC P-256, one day) and its key into `dir` with
 * openssl, for a local TLS server that a test or bench trusts by this certificate alone; answers
 * the two files' paths.
 */
export const selfSignedCertificate = (dir) => {
  const files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  execFileSync(
    'openssl',
    [...'req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1'.split(' '), '-keyout', files.key, '-out', files.cert],
    { stdio: 'ignore' },
  );
  return files;
};
