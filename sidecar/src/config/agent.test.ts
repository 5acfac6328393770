import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './agent.ts';

const minimal = ['region: eu', 'tokenFile: agent.token', 'certDir: certs', 'keyservice:', '  urls: [https://keys.example.com:8443]', '  caFile: ca.pem'];
const parse = (lines: string[]) => parseAgentConfig(lines.join('\n'), 'agent.yaml', '/etc/keybridge');

describe('agent config', () => {
  it('fills defaults and resolves paths against the config directory', () => {
    expect(parse(minimal)).toEqual({
      region: 'eu',
      listen: { kind: 'tcp', host: '127.0.0.1', port: 8877 },
      tokenFile: '/etc/keybridge/agent.token',
      certDir: '/etc/keybridge/certs',
      keyservice: { urls: ['https://keys.example.com:8443'], caFile: '/etc/keybridge/ca.pem' },
      webroots: [],
      cache: { ttlMs: 30_000, staleMs: 900_000 },
    });
  });

  const bad: [string, string[], RegExp][] = [
    ['missing region', minimal.slice(1), /region: is required/],
    ['public listen address', [...minimal, 'listen: 0.0.0.0:8877'], /agent.yaml: listen: .*loopback only/],
    ['http key service', [...minimal.slice(0, 4), '  urls: [http://keys.example.com]', '  caFile: ca.pem'], /keyservice.urls.0: must be an https/],
    ['no key service', minimal.slice(0, 3), /keyservice: is required/],
    ['url with a path', [...minimal.slice(0, 4), '  urls: [https://k.example.com/api]', '  caFile: ca.pem'], /keyservice.urls.0/],
    ['unknown setting', [...minimal, 'tokenfile: x'], /tokenfile: is not a known setting/],
    ['cache ttl', [...minimal, 'cache: { ttlSeconds: -1 }'], /cache.ttlSeconds/],
    ['webroots not a list', [...minimal, 'webroots: /var/www'], /webroots: must be a list/],
  ];
  for (const [why, lines, message] of bad) {
    it(`refuses a config with ${why}, naming the field`, () => {
      expect(() => parse(lines)).toThrow(message);
    });
  }
});
