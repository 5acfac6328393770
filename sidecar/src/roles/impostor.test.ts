import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShims } from '../../../shims/generator/build.ts';
import { leakedSecrets, startImpostor, tokenAndKek } from '../../test-helpers/impostor.ts';
import { readAnswers } from '../../test-helpers/raw-http.ts';
import { runCli, runCliAsync, startUpProcess } from '../../test-helpers/up-process.ts';
import type { ListenAddress } from '../config/listen.ts';

/**
 * Issue 13, finding 6, as the attacker would try it: the agent is stopped, another process
 * binds its address (127.0.0.1:PORT, or its unix socket path) and records every byte while
 * answering like an agent would. The CLI (`keybridge keys set` with a value and a KEK,
 * `keys get` with a KEK, real processes) and the PHP client (keys_set, keys_get, keys_fetch
 * in a real `php` process) must give it neither the token nor any value or KEK — raw,
 * base64, base64url or hex — and fail with agent-unproven. Then the real agent comes back on
 * the same address and everything recorded is replayed to it: every request is refused and
 * nothing changes.
 */
const work = mkdtempSync(join(tmpdir(), 'kb-impostor-'));
let pluginDir: string;

beforeAll(() => {
  pluginDir = buildShims({ outDir: join(work, 'shims') }).pluginDir;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PHP_CLIENT = `<?php
foreach ( array( 'exception', 'spec', 'http-exchange', 'agent-proof', 'agent-connection', 'client' ) as $class ) {
	require $argv[1] . '/includes/class-keybridge-' . $class . '.php';
}
list( , , $agent, $token_file, $value, $kek ) = $argv;
$client = new Keybridge_Client( $agent, $token_file, array( 'timeout_ms' => 3000 ) );
$calls  = array(
	'keys_set'   => function () use ( $client, $value, $kek ) {
		return $client->keys_set( array( 'name' => 'impostor/new', 'value' => $value, 'wrapping_key' => $kek ) );
	},
	'keys_get'   => function () use ( $client, $kek ) {
		return $client->keys_get( array( 'name' => 'impostor/old', 'wrapping_key' => $kek ) );
	},
	'keys_fetch' => function () use ( $client ) {
		return $client->keys_fetch( array( 'names' => array( 'impostor/old' ) ) );
	},
);
$out = array();
foreach ( $calls as $id => $call ) {
	try {
		$call();
		$out[ $id ] = 'answered';
	} catch ( Keybridge_Exception $e ) {
		$out[ $id ] = $e->problem_type();
	}
}
echo json_encode( $out );
`;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Replays one recorded connection's bytes to the agent, from the recorded client port when it is free. */
async function replay(address: ListenAddress, bytes: Buffer, fromPort: number): Promise<{ status: number; detail: string }[]> {
  const open = (localPort?: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket =
        address.kind === 'unix'
          ? connect(address.path)
          : connect({ host: address.host, port: address.port, localAddress: '127.0.0.1', ...(localPort ? { localPort } : {}) });
      socket.once('connect', () => resolve(socket)).once('error', reject);
    });
  const socket = await open(address.kind === 'tcp' ? fromPort : undefined).catch(() => open());
  const requests = (bytes.toString('latin1').match(/\r\n\r\n/g) ?? []).length;
  const reading = readAnswers(socket, requests);
  socket.write(bytes);
  const { answers } = await reading;
  socket.destroy();
  return answers.map((answer) => ({ status: answer.status, detail: JSON.parse(answer.body).detail }));
}

for (const transport of ['tcp', 'unix'] as const) {
  describe(`an impostor on the agent's ${transport === 'tcp' ? 'port' : 'unix socket'}`, () => {
    it('learns no token, value or KEK from the CLI or the PHP client, and what it recorded replays to nothing', async () => {
      const home = mkdtempSync(join(work, `${transport}-`));
      const address: ListenAddress =
        transport === 'tcp' ? { kind: 'tcp', host: '127.0.0.1', port: await freePort() } : { kind: 'unix', path: join(home, 'agent.sock') };
      const listen = address.kind === 'tcp' ? `127.0.0.1:${address.port}` : `unix:${address.path}`;
      const env = { KEYBRIDGE_HOME: home, KEYBRIDGE_AGENT: '', KEYBRIDGE_TOKEN_FILE: join(home, 'agent.token') };
      const file = (name: string, content: string) => {
        const path = join(home, name);
        writeFileSync(path, content, { mode: 0o600 });
        return path;
      };

      const agent = await startUpProcess(home, ['--listen', listen]);
      const oldValue = `OLD-SECRET-${Math.random().toString(36).slice(2)}`;
      const stored = runCli(['keys', 'set', 'impostor/old', '--value-file', file('old.txt', oldValue)], env);
      expect(stored.status, stored.stderr).toBe(0);
      const kek = stored.stdout.trim();
      const kekFile = file('old.kek', kek);
      const token = readFileSync(join(home, 'agent.token'), 'utf8').trim();
      await agent.stop();

      const impostor = await startImpostor(address);
      const newValue = `NEW-SECRET-${Math.random().toString(36).slice(2)}`;
      try {
        // Not spawnSync: the impostor answers from this process.
        const set = await runCliAsync(
          ['keys', 'set', 'impostor/new', '--value-file', file('new.txt', newValue), '--wrapping-key-file', kekFile],
          env,
        );
        expect(set.status).toBe(1);
        expect(set.stderr).toContain('[agent-unproven]');
        const get = await runCliAsync(['keys', 'get', 'impostor/old', '--wrapping-key-file', kekFile], env);
        expect(get.status).toBe(1);
        expect(get.stderr).toContain('[agent-unproven]');
        expect(get.stdout).toBe('');

        const script = file('client.php', PHP_CLIENT);
        const agentUrl = readFileSync(join(home, 'agent.url'), 'utf8').trim();
        const { stdout } = await promisify(execFile)('php', [script, pluginDir, agentUrl, join(home, 'agent.token'), newValue, kek]);
        const php = JSON.parse(stdout);
        expect(php).toEqual({ keys_set: 'agent-unproven', keys_get: 'agent-unproven', keys_fetch: 'agent-unproven' });
      } finally {
        await impostor.close();
      }

      const recorded = impostor.connections();
      expect(recorded.length, 'every client did try the address').toBeGreaterThanOrEqual(5);
      const secrets = { ...tokenAndKek(token, kek), 'old value': oldValue, 'new value': newValue };
      expect(leakedSecrets(impostor.bytes(), secrets)).toEqual([]);
      // What it did get: handshakes (GET /v1/health) and the page read's names, each with a proof.
      expect(impostor.requestLines()).toEqual(['GET /v1/health HTTP/1.1', 'POST /v1/keys/fetch HTTP/1.1']);

      // The agent is back on the same address: nothing recorded works on it.
      const back = await startUpProcess(home, ['--listen', listen]);
      try {
        const peers = impostor.peers();
        for (const [index, bytes] of recorded.entries()) {
          for (const answer of await replay(address, bytes, peers[index].port)) {
            expect(answer.status).toBe(401);
            if (transport === 'unix') expect(answer.detail).toBe('the proof was made before this agent started');
            else
              expect([
                'the proof was made before this agent started',
                'the proof does not match the agent token, this request and this connection',
              ]).toContain(answer.detail);
          }
        }
        const listed = runCli(['keys', 'list', '--json'], env);
        expect(listed.stdout).not.toContain('impostor/new');
        const read = runCli(['keys', 'get', 'impostor/old', '--wrapping-key-file', kekFile], env);
        expect(read.stdout).toBe(oldValue);
      } finally {
        await back.stop();
      }
    }, 180_000);
  });
}
