import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig, parseServerConfig } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'kb-server-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (text: string) => parseServerConfig(text, 'server.yaml', '/etc/keybridge');

describe('server config', () => {
  it('fills defaults relative to home', () => {
    expect(parse('region: eu\nhome: /var/lib/keybridge\n')).toEqual({
      region: 'eu',
      home: '/var/lib/keybridge',
      storage: { kind: 'sqlite', path: '/var/lib/keybridge/keyservice.db' },
      rootKey: { kind: 'software', file: '/var/lib/keybridge/root.key' },
      listen: { host: '127.0.0.1', port: 8443 },
      tls: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
      certificates: { developmentDays: 90, productionDays: 365 },
      production: { policy: 'approval' },
      limits: { perAddress: { burst: 30, perMinute: 10 }, perAccount: { burst: 5, perMinute: 2 } },
    });
  });

  it('reads the production policy and the rate limits', () => {
    const config = parse(
      'region: eu\nhome: /h\nproduction: { policy: open }\nlimits: { perAddress: { burst: 3 }, perAccount: { perMinute: 1 } }\n',
    );
    expect(config.production).toEqual({ policy: 'open' });
    expect(config.limits).toEqual({ perAddress: { burst: 3, perMinute: 10 }, perAccount: { burst: 5, perMinute: 1 } });
  });

  it('resolves a relative home against the base dir, and relative paths under home', () => {
    const config = parse(
      [
        'region: us-east-2',
        'home: data',
        'storage: { kind: sqlite, path: db/ks.db }',
        'rootKey:',
        '  kind: software',
        '  file: /run/secrets/root.key',
        'listen: { host: "::", port: 9443 }',
      ].join('\n'),
    );
    expect(config).toEqual({
      region: 'us-east-2',
      home: '/etc/keybridge/data',
      storage: { kind: 'sqlite', path: '/etc/keybridge/data/db/ks.db' },
      rootKey: { kind: 'software', file: '/run/secrets/root.key' },
      listen: { host: '::', port: 9443 },
      tls: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
      certificates: { developmentDays: 90, productionDays: 365 },
      production: { policy: 'approval' },
      limits: { perAddress: { burst: 30, perMinute: 10 }, perAccount: { burst: 5, perMinute: 2 } },
    });
  });

  it('loads a file, resolving home against the file directory', async () => {
    const file = join(dir, 'server.yaml');
    writeFileSync(file, 'region: eu\nhome: ./state\nlisten: { host: keys.example.org }\n');
    const config = await loadServerConfig(file);
    expect(config.home).toBe(join(dir, 'state'));
    expect(config.listen).toEqual({ host: 'keys.example.org', port: 8443 });
  });

  it('names an unreadable file', async () => {
    const file = join(dir, 'missing.yaml');
    await expect(loadServerConfig(file)).rejects.toMatchObject({
      type: 'config-invalid',
      message: expect.stringContaining(`${file}: cannot be read (ENOENT)`),
    });
  });

  const bad: [string, string, string | undefined, RegExp][] = [
    ['missing region', 'home: /h', 'region', /region: is required/],
    ['region upper case', 'region: EU\nhome: /h', 'region', /region: must be a region id/],
    ['region too long', `region: ${'a'.repeat(17)}\nhome: /h`, 'region', /region: must be/],
    ['region number', 'region: 42\nhome: /h', 'region', /region: must be/],
    ['region starting with a digit', 'region: 1eu\nhome: /h', 'region', /region: must be/],
    ['missing home', 'region: eu', 'home', /home: is required/],
    ['empty home', 'region: eu\nhome: ""', 'home', /home: must be a non-empty file system path/],
    ['home as a list', 'region: eu\nhome: [a]', 'home', /home: must be/],
    ['storage not a mapping', 'region: eu\nhome: /h\nstorage: sqlite', 'storage', /storage: must be a mapping/],
    ['storage empty', 'region: eu\nhome: /h\nstorage:', 'storage', /storage: is required \(a mapping\)/],
    ['storage kind', 'region: eu\nhome: /h\nstorage: { kind: mysql }', 'storage.kind', /storage.kind: must be one of: sqlite/],
    ['storage path', 'region: eu\nhome: /h\nstorage: { path: 7 }', 'storage.path', /storage.path: must be a non-empty file system path/],
    [
      'storage unknown',
      'region: eu\nhome: /h\nstorage: { file: x }',
      'storage.file',
      /storage.file: is not a known setting \(known here: kind, path\)/,
    ],
    ['rootKey kind', 'region: eu\nhome: /h\nrootKey: { kind: pkcs12 }', 'rootKey.kind', /rootKey.kind: must be one of: software/],
    ['rootKey file', 'region: eu\nhome: /h\nrootKey: { file: "" }', 'rootKey.file', /rootKey.file: must be/],
    ['rootKey unknown', 'region: eu\nhome: /h\nrootKey: { pin: 1234 }', 'rootKey.pin', /rootKey.pin: is not a known setting/],
    [
      'rootKey same as storage',
      'region: eu\nhome: /h\nstorage: { path: x }\nrootKey: { file: /h/x }',
      'rootKey.file',
      /must not be the same file as storage.path/,
    ],
    [
      'listen host',
      'region: eu\nhome: /h\nlisten: { host: "bad host!" }',
      'listen.host',
      /listen.host: must be an IP address or a host name/,
    ],
    [
      'listen port negative',
      'region: eu\nhome: /h\nlisten: { port: -1 }',
      'listen.port',
      /listen.port: must be a whole number from 0 to 65535/,
    ],
    ['storage kind', 'region: eu\nhome: /h\nstorage: { kind: mysql }', 'storage.kind', /storage.kind/],
    ['postgres without urlFile', 'region: eu\nhome: /h\nstorage: { kind: postgres }', 'storage.urlFile', /storage.urlFile/],
    [
      'pkcs11 without module',
      'region: eu\nhome: /h\nrootKey: { kind: pkcs11, tokenLabel: t, pinFile: p }',
      'rootKey.module',
      /rootKey.module/,
    ],
    ['tls hosts empty', 'region: eu\nhome: /h\ntls: { hosts: [] }', 'tls.hosts', /tls.hosts: must be a list/],
    ['tls host bad', 'region: eu\nhome: /h\ntls: { hosts: ["bad host!"] }', 'tls.hosts.0', /tls.hosts.0/],
    [
      'certificate days',
      'region: eu\nhome: /h\ncertificates: { productionDays: 0 }',
      'certificates.productionDays',
      /certificates.productionDays/,
    ],
    ['production policy', 'region: eu\nhome: /h\nproduction: { policy: maybe }', 'production.policy', /production.policy/],
    [
      'limit burst zero',
      'region: eu\nhome: /h\nlimits: { perAddress: { burst: 0 } }',
      'limits.perAddress.burst',
      /limits.perAddress.burst/,
    ],
    ['limit unknown', 'region: eu\nhome: /h\nlimits: { perSite: {} }', 'limits.perSite', /limits.perSite: is not a known setting/],
    ['listen port too big', 'region: eu\nhome: /h\nlisten: { port: 70000 }', 'listen.port', /listen.port: must be a whole number/],
    ['listen port string', 'region: eu\nhome: /h\nlisten: { port: "8443" }', 'listen.port', /listen.port: must be a whole number/],
    ['listen port fraction', 'region: eu\nhome: /h\nlisten: { port: 84.5 }', 'listen.port', /listen.port/],
    ['listen unknown', 'region: eu\nhome: /h\nlisten: { tls: true }', 'listen.tls', /listen.tls: is not a known setting/],
    [
      'unknown top-level',
      'region: eu\nhome: /h\nregoin: us',
      'regoin',
      /regoin: is not a known setting \(known here: region, home, storage, rootKey, listen, tls, certificates, production\)/,
    ],
    ['top level list', '- region: eu', undefined, /server.yaml: must be a mapping/],
    ['empty file', '', undefined, /server.yaml: is required \(a mapping\)/],
    ['duplicate key', 'region: eu\nregion: us\nhome: /h', undefined, /server.yaml: line 2, column 1: Map keys must be unique/],
    ['bad YAML', 'region: [eu\nhome: /h', undefined, /server.yaml: line \d+, column \d+: /],
  ];
  for (const [title, text, field, message] of bad) {
    it(`refuses ${title}`, () => {
      let error: unknown;
      try {
        parse(text);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ type: 'config-invalid', message });
      expect((error as { field?: string }).field).toBe(field);
      expect((error as Error).message).toMatch(/^The configuration is invalid: server\.yaml: /);
    });
  }

  it('does not quote a bad value back', () => {
    expect(() => parse('region: SECRET-LOOKING\nhome: /h')).toThrow(/^(?!.*SECRET-LOOKING)/s);
  });
});
