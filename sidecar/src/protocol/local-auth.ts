import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { LOCAL_API_AUTH } from './local-api.ts';

/**
 * The local API's proofs (spec.yaml `auth`, README "Security model"), shared by the agent
 * and its TypeScript clients (the CLI, tests, the benchmark). The token never travels: a
 * client proves it holds the token with an HMAC keyed by it, over a fresh nonce, the time,
 * the request line and its own address as the agent sees it; the agent answers with an HMAC
 * over the same nonce, which only a holder of the token can make. A recorded proof is
 * useless: the agent refuses one it has seen, one older than it, and one made by another
 * connection (the address differs). PHP does the same in Keybridge_Agent_Proof.
 */

/** What an Authorization header of the local API carries. */
export interface ClientProof {
  /** Unix time in ms when the client made it. */
  t: number;
  /** 16 random bytes, base64url. */
  n: string;
  /** The client's HMAC, base64url. */
  m: string;
}

const AUTHORIZATION = new RegExp(`^${LOCAL_API_AUTH.scheme} t=([0-9]{13}), n=([A-Za-z0-9_-]{22}), m=([A-Za-z0-9_-]{43})$`);
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

/** HMAC-SHA256 keyed by the agent token: the two MACs of the scheme. */
export class ProofKey {
  private readonly key: KeyObject;

  constructor(token: string) {
    this.key = createSecretKey(Buffer.from(token, 'utf8'));
  }

  /** The client's MAC over its request line and connection. */
  client(t: number, n: string, method: string, path: string, peer: string): string {
    return this.mac(`${LOCAL_API_AUTH.clientLabel}\n${t}\n${n}\n${method} ${path}\n${peer}`);
  }

  /** The agent's MAC: its answer to the client's nonce on that connection. */
  agent(t: number, n: string, peer: string): string {
    return this.mac(`${LOCAL_API_AUTH.agentLabel}\n${t}\n${n}\n${peer}`);
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

/** A client's Authorization header for one request, and the agent proof its answer must carry. */
export function signRequest(key: ProofKey, method: string, path: string, peer: string): { authorization: string; expectedProof: string } {
  const t = Date.now();
  const n = randomBytes(16).toString('base64url');
  return {
    authorization: `${LOCAL_API_AUTH.scheme} t=${t}, n=${n}, m=${key.client(t, n, method, path, peer)}`,
    expectedProof: key.agent(t, n, peer),
  };
}

/** Compares two MACs in constant time (their length is public: always 43 characters). */
export function macsEqual(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || presented.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(presented, 'latin1'));
}
