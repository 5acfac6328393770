/**
 * How the bench proves it may use the agent it measures (spec.yaml `auth`): the first
 * request of each connection carries the client's proof for that connection and its answer
 * must carry the agent's; every later request on the connection is sent as it is, with no
 * Authorization, as a PHP client's later requests are. An older checkout measured for an
 * A/B (BENCH_KEYBRIDGE_BIN, cpu-ab.ts) still takes its bearer token on every request.
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { macsEqual, peerName, ProofKey, signRequest } from '../sidecar/src/protocol/local-auth.ts';
import type { Target } from './loadgen-protocol.ts';

export interface BenchAuth {
  /** `proof`: this tree's scheme; `bearer`: a checkout from before it; `none`: a server that is not an agent (the floor). */
  scheme: 'proof' | 'bearer' | 'none';
  token: string;
}

/** The scheme of the checkout at `root`: the proofs when it has them. */
export function authFor(root: string, token: string): BenchAuth {
  return { scheme: existsSync(join(root, 'sidecar/src/protocol/local-auth.ts')) ? 'proof' : 'bearer', token };
}

/** The Authorization header every request carries: only a bearer-token checkout needs one. */
export function everyRequestAuthorization(auth: BenchAuth): string | undefined {
  return auth.scheme === 'bearer' ? `Bearer ${auth.token}` : undefined;
}

/**
 * `request` (complete HTTP/1.1 bytes) with the client's proof for the connection `socket`
 * added, and the agent's proof its answer must carry.
 */
export function openingRequest(request: Buffer, socket: Socket, target: Target, token: string): { bytes: Buffer; expectedProof: string } {
  const lineEnd = request.indexOf('\r\n');
  const [method, path] = request.toString('latin1', 0, lineEnd).split(' ');
  const peer = target.kind === 'unix' ? 'unix' : peerName(socket.localAddress, socket.localPort);
  const signed = signRequest(proofKey(token), method, path, peer);
  const header = Buffer.from(`Authorization: ${signed.authorization}\r\n`, 'latin1');
  return {
    bytes: Buffer.concat([request.subarray(0, lineEnd + 2), header, request.subarray(lineEnd + 2)]),
    expectedProof: signed.expectedProof,
  };
}

/** One key per token, as a client keeps it: a key object per connection would be the bench's own cost. */
const keys = new Map<string, ProofKey>();
function proofKey(token: string): ProofKey {
  let key = keys.get(token);
  if (!key) keys.set(token, (key = new ProofKey(token)));
  return key;
}

/** Whether an answer head carries the agent's proof `expected`. */
export function headProves(head: string, expected: string): boolean {
  return macsEqual(expected, /\r\nkeybridge-proof: *([^\r]*)/i.exec(head)?.[1]);
}

/**
 * Proves a new raw connection (cpu-ab.ts, refresh-dips.ts) before the tool's own requests
 * go out: once connected it sends `request` with the client's proof, and calls `ready` when
 * the answer proved the agent (at once for a bearer-token checkout or the floor). Returns the check to
 * run first on every answer: true while the answer was the opening's, not one of the tool's.
 */
export function proveConnection(
  socket: Socket,
  target: Target,
  auth: BenchAuth,
  request: Buffer,
  ready: () => void,
  fail: (error: Error) => void,
): (statusLine: string, head: string) => boolean {
  let expected: string | null = null;
  socket.once('connect', () => {
    if (auth.scheme !== 'proof') return ready();
    const opening = openingRequest(request, socket, target, auth.token);
    expected = opening.expectedProof;
    socket.write(opening.bytes);
  });
  return (statusLine, head) => {
    if (expected === null) return false;
    const proven = statusLine.startsWith('HTTP/1.1 200') && headProves(head, expected);
    expected = null;
    if (proven) ready();
    else fail(new Error(`the agent did not prove it holds the token (${statusLine})`));
    return true;
  };
}
