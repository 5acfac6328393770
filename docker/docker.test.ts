import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseListen } from '../sidecar/src/config/listen.ts';

/**
 * No Docker engine runs here, so the images cannot be built in CI. What can be checked
 * is: every path the Dockerfile copies exists, the command it runs is one the CLI accepts,
 * and the compose file is valid YAML that publishes no agent port.
 */
const root = new URL('..', import.meta.url).pathname;
const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');

describe('docker files', () => {
  it('copies only paths that exist in the build context', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].split(/\s+/));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(join(root, source)), source).toBe(true);
  });

  it('runs keybridge up on a unix socket the CLI accepts', () => {
    const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]) as string[];
    expect(cmd.slice(0, 1)).toEqual(['up']);
    const listen = cmd[cmd.indexOf('--listen') + 1];
    expect(parseListen(listen)).toEqual({ kind: 'unix', path: '/run/keybridge/agent.sock' });
  });

  it('publishes no port of the keybridge service', () => {
    const compose = parse(readFileSync(join(root, 'docker', 'compose.yaml'), 'utf8'));
    expect(compose.services.keybridge.ports).toBeUndefined();
    expect(compose.services.keybridge.build.dockerfile).toBe('docker/Dockerfile');
  });
});
