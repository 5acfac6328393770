import { readFileSync } from 'node:fs';
import { CertificateStore } from '../src/agent/certs/store.ts';

/**
 * Child process for the certificate-store crash tests: installs the key and certificate in
 * the given files into the certificate directory, as a renewal would, and prints one JSON
 * line saying how it went. Run it under `prlimit --fsize=N` to make the write fail the way
 * a full disk does (EFBIG; Node ignores SIGXFSZ).
 *
 *   node --import tsx install-certificate-child.ts CERT_DIR KEY_FILE CERT_FILE
 */
const [dir, keyFile, certFile] = process.argv.slice(2);
try {
  const installed = new CertificateStore(dir).installCertificate(readFileSync(keyFile, 'utf8'), readFileSync(certFile, 'utf8'));
  process.stdout.write(`${JSON.stringify({ ok: true, serial: installed.certificate.serialHex })}\n`);
} catch (error) {
  const failure = error as NodeJS.ErrnoException;
  process.stdout.write(`${JSON.stringify({ ok: false, code: failure.code ?? null, message: String(failure.message) })}\n`);
  process.exitCode = 1;
}
