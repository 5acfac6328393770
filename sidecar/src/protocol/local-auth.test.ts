import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildShims } from '../../../shims/generator/build.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_API_AUTH } from './local-api.ts';
import { macsEqual, parseClientProof, peerName, ProofKey, signRequest } from './local-auth.ts';

const TOKEN = 'k'.repeat(43);

describe('the proofs of the local API', () => {
  it('are the two halves of one HMAC-SHA256 keyed by the token over the lines spec.yaml describes', () => {
    const mac = createHmac('sha256', TOKEN)
      .update(`keybridge-proof-1\n1712345678901\n${'n'.repeat(22)}\nPOST /v1/keys/fetch\n127.0.0.1:5`)
      .digest();
    expect(new ProofKey(TOKEN).halves(1712345678901, 'n'.repeat(22), 'POST', '/v1/keys/fetch', '127.0.0.1:5')).toEqual({
      client: mac.subarray(0, 16).toString('base64url'),
      agent: mac.subarray(16).toString('base64url'),
    });
  });

  it('sign a request with a fresh nonce each time, in the one header form the agent parses', () => {
    const key = new ProofKey(TOKEN);
    const one = signRequest(key, 'GET', '/v1/health', '[::1]:7');
    const two = signRequest(key, 'GET', '/v1/health', '[::1]:7');
    expect(one.authorization).not.toBe(two.authorization);
    const parsed = parseClientProof(one.authorization);
    expect(parsed).not.toBeNull();
    const halves = key.halves(parsed!.t, parsed!.n, 'GET', '/v1/health', '[::1]:7');
    expect(parsed!.m).toBe(halves.client);
    expect(one.expectedProof).toBe(halves.agent);
    expect(one.authorization).not.toContain(TOKEN);
    for (const bad of [
      one.authorization.replace('Keybridge', 'keybridge'),
      one.authorization.replace(', ', ','),
      `${one.authorization} `,
      one.authorization.replace(/m=.*/, 'm=short'),
      `Bearer ${TOKEN}`,
    ]) {
      expect(parseClientProof(bad), bad).toBeNull();
    }
  });

  it('name the client end as PHP does, and compare MACs only when equal in full', () => {
    expect(peerName('127.0.0.1', 54321)).toBe('127.0.0.1:54321');
    expect(peerName('::1', 54321)).toBe('[::1]:54321');
    expect(peerName(undefined, undefined)).toBe('unix');
    const mac = new ProofKey(TOKEN).halves(1, 'n', 'GET', '/', 'unix').agent;
    expect(macsEqual(mac, mac)).toBe(true);
    expect(macsEqual(mac, `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
    expect(macsEqual(mac, mac.slice(1))).toBe(false);
    expect(macsEqual(mac, undefined)).toBe(false);
  });

  it('agree with the PHP client (Keybridge_Agent_Proof) byte for byte', () => {
    const out = mkdtempSync(join(tmpdir(), 'kb-proof-php-'));
    try {
      const { pluginDir } = buildShims({ outDir: out });
      const php = `
        require '${pluginDir}/includes/class-keybridge-spec.php';
        require '${pluginDir}/includes/class-keybridge-agent-proof.php';
        $signed = ( new Keybridge_Agent_Proof( '${TOKEN}' ) )->sign( 'POST', '/v1/keys/fetch', '[::1]:8877' );
        echo json_encode( $signed );`;
      const signed = JSON.parse(execFileSync('php', ['-r', php], { encoding: 'utf8' })) as { authorization: string; expected: string };
      const parsed = parseClientProof(signed.authorization);
      expect(parsed, signed.authorization).not.toBeNull();
      const key = new ProofKey(TOKEN);
      const halves = key.halves(parsed!.t, parsed!.n, 'POST', '/v1/keys/fetch', '[::1]:8877');
      expect(parsed!.m).toBe(halves.client);
      expect(signed.expected).toBe(halves.agent);
      expect(Math.abs(parsed!.t - Date.now())).toBeLessThan(LOCAL_API_AUTH.maxAheadMs);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
