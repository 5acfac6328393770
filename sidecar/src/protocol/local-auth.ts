import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { LOCAL_API_AUTH } from './local-api.ts';

/**
 * The local API's proofs (spec.yaml `auth`, README "Security model"), shared by the agent
 * and its TypeScript clients (the CLI, tests, the benchmark). The token never travels: both
 * ends compute one HMAC-SHA256 keyed by it over the time, a fresh nonce, the request line and
 * the client's address as the agent sees it. The client sends the first half; the agent
 * checks it and answers with the second half, which the client never sent and only a holder
 * of the token can make. A recorded proof is useless: the agent refuses one it has seen, one
 * older than it, and one made by another connection (the address differs). PHP does the
 * same in Keybridge_Agent_Proof.
 */

/** What an Authorization header of the local API carries. */
export interface ClientProof {
  /** Unix time in ms when the client made it. */
  t: number;
  /** 16 random bytes, base64url. */
  n: string;
  /** The client's half of the MAC, base64url. */
  m: string;
}

const AUTHORIZATION = new RegExp(`^${LOCAL_API_AUTH.scheme} t=([0-9]{13}), n=([A-Za-z0-9_-]{22}), m=([A-Za-z0-9_-]{22})$`);
const SCHEME_PREFIX = `${LOCAL_API_AUTH.scheme} `;

/** Whether an Authorization header uses the local API's scheme at all (its fields may still be wrong). */
export function isProofScheme(header: string): boolean {
  return header.startsWith(SCHEME_PREFIX);
}

/** The fields of `Authorization: Keybridge t=…, n=…, m=…`, or null unless it is exactly that. */
export function parseClientProof(header: string): ClientProof | null {
  const match = AUTHORIZATION.exec(header);
  return match ? { t: Number(match[1]), n: match[2], m: match[3] } : null;
}

/**
 * How both ends name the client's side of a connection: `127.0.0.1:54321`, `[::1]:54321`
 * (what PHP's stream_socket_get_name() gives), or `unix` on a unix socket, where a client
 * has no address and no relay can sit between it and the agent.
 */
export function peerName(address: string | undefined, port: number | undefined): string {
  if (address === undefined || port === undefined) return 'unix';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Both halves of a proof: `client` goes in the request, `agent` comes back in the answer. */
export interface ProofHalves {
  client: string;
  agent: string;
}

/** HMAC-SHA256 keyed by the agent token. */
export class ProofKey {
  private readonly key: KeyObject;

  constructor(token: string) {
    this.key = createSecretKey(Buffer.from(token, 'utf8'));
  }

  /** The MAC of one request on one connection, split in its two halves. */
  halves(t: number, n: string, method: string, path: string, peer: string): ProofHalves {
    const mac = createHmac('sha256', this.key).update(`${LOCAL_API_AUTH.label}\n${t}\n${n}\n${method} ${path}\n${peer}`).digest();
    return { client: mac.toString('base64url', 0, 16), agent: mac.toString('base64url', 16, 32) };
  }
}

/** A client's Authorization header for one request, and the agent proof its answer must carry. */
export function signRequest(key: ProofKey, method: string, path: string, peer: string): { authorization: string; expectedProof: string } {
  const t = Date.now();
  const n = randomBytes(16).toString('base64url');
  const halves = key.halves(t, n, method, path, peer);
  return { authorization: `${LOCAL_API_AUTH.scheme} t=${t}, n=${n}, m=${halves.client}`, expectedProof: halves.agent };
}

/** Compares two halves of MACs in constant time (their length is public: always 22 characters). */
export function macsEqual(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || presented.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(presented, 'latin1'));
}
