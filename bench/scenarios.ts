/**
 * What each scenario sends, serialised once into complete HTTP/1.1 requests. The baseline
 * gets the very same bytes as the agent's keys/get (body and all), so the only difference
 * between the rows is what the server does with them. Requests carry no Authorization: the
 * load generator adds the client's proof to the first request of each connection
 * (agent-auth.ts), and the rest ride on the proven connection; only an older checkout
 * measured for an A/B gets its bearer token on every request.
 */
import { everyRequestAuthorization, type BenchAuth } from './agent-auth.ts';
import type { BenchKey } from './keyset.ts';
import { hostHeader } from './http-json.ts';
import type { Target } from './loadgen-protocol.ts';

export type Server = 'baseline' | 'agent';
export type Operation = 'get' | 'fetch';

export interface Scenario {
  id: string;
  server: Server;
  /** The agent operation whose request bytes are sent (the baseline ignores them). */
  operation: Operation;
  transport: 'tcp' | 'unix';
  concurrency: number;
  label: string;
}

export function httpRequest(target: Target, path: string, auth: BenchAuth, body: unknown): string {
  const payload = JSON.stringify(body);
  const authorization = everyRequestAuthorization(auth);
  return (
    `POST ${path} HTTP/1.1\r\n` +
    `Host: ${hostHeader(target)}\r\n` +
    (authorization ? `Authorization: ${authorization}\r\n` : '') +
    'Content-Type: application/json\r\n' +
    'Accept: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(payload, 'utf8')}\r\n` +
    '\r\n' +
    payload
  );
}

/** keys/get rotating over every key (the agent unwraps each with its KEK). */
export function getRequests(target: Target, auth: BenchAuth, keys: readonly BenchKey[]): string[] {
  return keys.map((key) => httpRequest(target, '/v1/keys/get', auth, { name: key.name, wrapping_key: key.wrappingKey }));
}

/** keys/fetch of one name: ciphertext only, no decryption in the agent. */
export function fetchRequests(target: Target, auth: BenchAuth, keys: readonly BenchKey[]): string[] {
  return [httpRequest(target, '/v1/keys/fetch', auth, { names: [keys[0].name] })];
}

export function scenarioId(server: Server, operation: Operation, transport: 'tcp' | 'unix', concurrency: number): string {
  return server === 'baseline' ? `baseline-${transport}-c${concurrency}` : `${operation}-${transport}-c${concurrency}`;
}

export function makeScenario(server: Server, operation: Operation, transport: 'tcp' | 'unix', concurrency: number): Scenario {
  const what = server === 'baseline' ? 'baseline node:http' : `agent keys/${operation}`;
  return {
    id: scenarioId(server, operation, transport, concurrency),
    server,
    operation,
    transport,
    concurrency,
    label: what,
  };
}

/** The default plan, in run order. */
export function defaultPlan(): Scenario[] {
  return [
    makeScenario('baseline', 'get', 'tcp', 1),
    makeScenario('baseline', 'get', 'tcp', 64),
    makeScenario('baseline', 'get', 'unix', 1),
    makeScenario('agent', 'get', 'tcp', 1),
    makeScenario('agent', 'get', 'tcp', 64),
    makeScenario('agent', 'fetch', 'tcp', 1),
    makeScenario('agent', 'fetch', 'tcp', 64),
    makeScenario('agent', 'get', 'unix', 1),
    makeScenario('agent', 'fetch', 'unix', 1),
  ];
}
