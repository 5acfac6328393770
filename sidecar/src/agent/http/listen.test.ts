import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '../../../test-helpers/embedded.ts';
import { up } from '../../roles/up.ts';
import { parseListen } from '../../config/listen.ts';

const dir = mkdtempSync(join(tmpdir(), 'kb-listen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('listen addresses', () => {
  it('accepts loopback and unix sockets only', () => {
    expect(parseListen('127.0.0.1:8877')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8877 });
    expect(parseListen('[::1]:0')).toEqual({ kind: 'tcp', host: '::1', port: 0 });
    expect(parseListen('localhost:1')).toMatchObject({ kind: 'tcp', host: 'localhost' });
    expect(parseListen('unix:/run/kb.sock')).toEqual({ kind: 'unix', path: '/run/kb.sock' });
    for (const bad of [
      '0.0.0.0:8877',
      '192.168.1.2:80',
      '[::]:80',
      'example.com:80',
      '127.0.0.1',
      '127.0.0.1:99999',
      'unix:relative.sock',
    ]) {
      expect(() => parseListen(bad), bad).toThrow(/listen/);
    }
  });

  it('serves the API on a unix socket', async () => {
    const socket = join(dir, 'agent.sock');
    const instance = await up({ home: join(dir, 'home'), listen: { kind: 'unix', path: socket } });
    try {
      expect(instance.url).toBe(`unix:${socket}`);
      expect(statSync(socket).mode & 0o777).toBe(0o660);
      const body = await new Promise<string>((resolve, reject) => {
        request({ socketPath: socket, path: '/v1/health' }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
      expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
      await expect(up({ home: join(dir, 'home2'), listen: { kind: 'unix', path: socket } })).rejects.toThrow(/another process/);
    } finally {
      await instance.close();
    }
    // A stale socket file (its agent gone) is replaced on the next start.
    const again = await up({ home: join(dir, 'home'), listen: { kind: 'unix', path: socket } });
    await again.close();
  });

  it('refuses to start a second agent on a port in use, and leaves the first serving', async () => {
    const first = await startEmbedded();
    const port = Number(new URL(first.url).port);
    await expect(up({ home: join(dir, 'second'), listen: { kind: 'tcp', host: '127.0.0.1', port } })).rejects.toThrow(/EADDRINUSE/);
    expect((await first.call('GET', '/v1/health')).status).toBe(200);
    await first.stop();
  });
});
