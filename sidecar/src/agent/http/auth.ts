import { KeybridgeError } from '../../errors.ts';
import { LOCAL_API_AUTH } from '../../protocol/local-api.ts';
import { isProofScheme, macsEqual, parseClientProof, ProofKey } from '../../protocol/local-auth.ts';

/**
 * The agent's side of the local API's proofs (protocol/local-auth.ts): checks a client's
 * proof and makes the agent's answer to it. A proof is refused unless its MAC matches this
 * token, this request line and this connection's client address, and it is fresh: made
 * after this agent started listening (so nothing recorded by a process that held the
 * agent's address while it was down can be replayed to it), at most max_age_ms old, at
 * most max_ahead_ms early, and never seen before (the nonces of the last
 * max_age_ms + max_ahead_ms are remembered; only proofs with a valid MAC are, so nobody
 * without the token can fill that memory).
 */
export class ProofChecker {
  private readonly key: ProofKey;
  /** Proofs made before this are refused; listen() moves it to when the address was bound. */
  private since = Date.now();
  /** Nonces seen, in two generations: each lives for at least one window. */
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotateAt = 0;
  private readonly window = LOCAL_API_AUTH.maxAgeMs + LOCAL_API_AUTH.maxAheadMs;

  constructor(token: string) {
    this.key = new ProofKey(token);
  }

  /** From now on only proofs made from `at` (ms) on are taken. */
  listeningSince(at: number): void {
    this.since = at;
  }

  /** Checks the Authorization header of one request; returns the agent's proof for its answer. */
  verify(header: string, method: string, path: string, peer: string, now = Date.now()): string {
    const proof = parseClientProof(header);
    if (proof === null) {
      throw new KeybridgeError(
        'unauthorized',
        isProofScheme(header)
          ? `malformed ${LOCAL_API_AUTH.scheme} proof`
          : `the agent token is never sent: prove you hold it (Authorization: ${LOCAL_API_AUTH.scheme} t=…, n=…, m=…)`,
      );
    }
    const halves = this.key.halves(proof.t, proof.n, method, path, peer);
    if (!macsEqual(halves.client, proof.m)) {
      throw new KeybridgeError('unauthorized', 'the proof does not match the agent token, this request and this connection');
    }
    if (proof.t < this.since) throw new KeybridgeError('unauthorized', 'the proof was made before this agent started');
    if (proof.t < now - LOCAL_API_AUTH.maxAgeMs) throw new KeybridgeError('unauthorized', 'the proof is too old');
    if (proof.t > now + LOCAL_API_AUTH.maxAheadMs) throw new KeybridgeError('unauthorized', 'the proof is dated in the future');
    if (!this.remember(proof.n, now)) throw new KeybridgeError('unauthorized', 'the proof was used before');
    return halves.agent;
  }

  /** Records a nonce; false when it was seen within the window. */
  private remember(nonce: string, now: number): boolean {
    if (now >= this.rotateAt) {
      this.previous = this.current;
      this.current = new Set();
      this.rotateAt = now + this.window;
    }
    if (this.current.has(nonce) || this.previous.has(nonce)) return false;
    this.current.add(nonce);
    return true;
  }
}
