import { Agent } from 'node:https';
import { createCsr, generateKeyPairAsync } from '../src/pki/index.ts';
import { rawRequest } from './mtls.ts';

/**
 * Child process for the register-storm test: an attacker, in a process of its own as it
 * would be, sends `count` registrations with wrong passwords for one account, `concurrency`
 * at a time, spread over several loopback source addresses (the whole 127/8 is loopback on
 * Linux), and prints one JSON line per answer: status, problem type and detail, Retry-After.
 * With `"route": "info"` it sends as many anonymous GET /ks/v1/info instead: the same TLS
 * handshakes without any registration work, the control a storm is compared with.
 *
 * It prints `ready` once loaded, and storms when a line arrives on stdin: its own start-up
 * (loading TypeScript, making a key) is not part of what the test measures.
 *
 *   node --import tsx register-storm-child.ts '{"url", "caCertPem", "email", "count", "addresses", "concurrency"}'
 */
interface StormOptions {
  route: 'register' | 'info';
  url: string;
  caCertPem: string;
  email: string;
  count: number;
  addresses: string[];
  concurrency: number;
}

const options = JSON.parse(process.argv[2]) as StormOptions;
const csr = createCsr(await generateKeyPairAsync(), { commonName: 'guess' });
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();
let next = 0;
await Promise.all(
  Array.from({ length: options.concurrency }, async () => {
    for (let i = next++; i < options.count; i = next++) {
      const agent = new Agent({
        ca: [options.caCertPem],
        localAddress: options.addresses[i % options.addresses.length],
        minVersion: 'TLSv1.2',
      });
      try {
        const body = { email: options.email, password: `wrong guess number ${i}`, site_name: 'stolen', csr };
        const answer =
          options.route === 'info'
            ? await rawRequest(options.url, 'GET', '/ks/v1/info', { agent, timeoutMs: 60_000 })
            : await rawRequest(options.url, 'POST', '/ks/v1/register', { agent, body, timeoutMs: 60_000 });
        const line = {
          status: answer.status,
          type: answer.json?.type,
          detail: answer.json?.detail,
          retryAfter: answer.headers['retry-after'] ?? null,
          contentType: answer.headers['content-type'],
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      } finally {
        agent.destroy();
      }
    }
  }),
);
