import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './agent.ts';

const minimal = [
  'region: eu',
  'tokenFile: agent.token',
  'certDir: certs',
  'keyservice:',
  '  urls: [https://keys.example.com:8443]',
  '  caFile: ca.pem',
];
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

  describe('partner platforms', () => {
    const withEnv = (lines: string[], env: NodeJS.ProcessEnv) => parseAgentConfig(lines.join('\n'), 'agent.yaml', '/etc/keybridge', env);

    it('is off without a partner block or the platform variables', () => {
      expect(withEnv(minimal, {}).partner).toBeUndefined();
    });

    it('detects Pantheon by PANTHEON_ENVIRONMENT, its certificate under the binding or at /certs', () => {
      expect(withEnv(minimal, { PANTHEON_ENVIRONMENT: 'live' }).partner).toEqual({
        name: 'pantheon',
        environment: 'live',
        certFile: '/certs/binding.pem',
      });
      expect(withEnv(minimal, { PANTHEON_ENVIRONMENT: 'dev', PANTHEON_BINDING: 'b1n' }).partner).toEqual({
        name: 'pantheon',
        environment: 'dev',
        certFile: '/srv/bindings/b1n/certs/binding.pem',
      });
      expect(withEnv(minimal, { PANTHEON_BINDING: 'b1n' }).partner?.environment).toBeNull();
    });

    it('takes certFile from the config, and the platform variable over the config environment', () => {
      const lines = [...minimal, 'partner: { name: pantheon, environment: live, certFile: binding.pem }'];
      expect(withEnv(lines, {}).partner).toEqual({ name: 'pantheon', environment: 'live', certFile: '/etc/keybridge/binding.pem' });
      expect(withEnv(lines, { PANTHEON_ENVIRONMENT: 'test', PANTHEON_BINDING: 'x' }).partner).toEqual({
        name: 'pantheon',
        environment: 'test',
        certFile: '/etc/keybridge/binding.pem',
      });
    });

    it('refuses an unknown partner or a malformed platform variable', () => {
      expect(() => withEnv([...minimal, 'partner: { name: acquia }'], {})).toThrow(/partner.name: must be a known partner/);
      expect(() => withEnv(minimal, { PANTHEON_BINDING: '../etc' })).toThrow(/PANTHEON_BINDING/);
      expect(() => withEnv(minimal, { PANTHEON_ENVIRONMENT: 'Live!' })).toThrow(/PANTHEON_ENVIRONMENT/);
    });
  });

  const bad: [string, string[], RegExp][] = [
    ['missing region', minimal.slice(1), /region: is required/],
    ['public listen address', [...minimal, 'listen: 0.0.0.0:8877'], /agent.yaml: listen: .*loopback only/],
    [
      'http key service',
      [...minimal.slice(0, 4), '  urls: [http://keys.example.com]', '  caFile: ca.pem'],
      /keyservice.urls.0: must be an https/,
    ],
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
