import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createAgent, type Agent, type AgentOptions } from '../agent/agent.ts';
import type { AccessLogEntry } from '../agent/http/app.ts';
import { listen, type ListenAddress } from '../agent/http/listen.ts';
import { ensureTokenFile } from '../agent/http/token.ts';
import { startRenewal } from '../agent/certs/renewal.ts';
import { CertificateStore } from '../agent/certs/store.ts';
import { HttpsKeyServiceClient } from '../agent/keyservice/https-client.ts';
import type { AgentConfig } from '../config/agent.ts';
import { KeybridgeError } from '../errors.ts';

/**
 * The agent role. `startAgent()` is the one place an agent is assembled and put on its
 * address: `keybridge agent` (runAgent, from its config), `keybridge up` (roles/up.ts) and
 * the test helpers all come through it.
 */
export interface RunningAgent {
  url: string;
  agent: Agent;
  /** The agent's node:http server: it emits 'request' only for what the socket fast path handed it (tests count them). */
  server: Server;
  close(): Promise<void>;
}

export interface StartAgentOptions extends AgentOptions {
  listen: ListenAddress;
  /** Runs before the agent listens (e.g. `keybridge up` registers its embedded site). */
  beforeListen?: (agent: Agent) => Promise<void>;
  /** Self-renewal of the certificate (default on; `intervalMs` default one hour). */
  renewal?: false | { intervalMs?: number; onError?: (error: unknown) => void };
}

export async function startAgent(options: StartAgentOptions): Promise<RunningAgent> {
  const agent = createAgent(options);
  await options.beforeListen?.(agent);
  const running = await listen(agent.frontEnds, options.listen);
  const stopRenewal =
    options.renewal === false ? () => undefined : startRenewal(agent.registrar, options.renewal?.intervalMs, options.renewal?.onError);
  return {
    url: running.url,
    agent,
    server: running.server,
    close: async () => {
      stopRenewal();
      await running.close();
      options.client.close();
    },
  };
}

/**
 * `keybridge agent --config FILE`: the sidecar from its validated config, reaching its key
 * service over mutual TLS, renewing its certificate by itself.
 */
export async function runAgent(
  config: AgentConfig,
  log?: (entry: AccessLogEntry) => void,
  onRenewalError?: (error: unknown) => void,
): Promise<RunningAgent> {
  // On a partner the platform's file is the certificate and keyservice.caFile the CA (no ca.pem is written).
  const certificates = new CertificateStore(
    config.certDir,
    config.partner ? { partner: config.partner, caFile: config.keyservice.caFile } : {},
  );
  if (config.partner && !existsSync(config.partner.certFile)) {
    throw new KeybridgeError(
      'config-invalid',
      `partner.certFile: ${config.partner.certFile} does not exist (the platform installs it; set partner.certFile if it lives elsewhere)`,
      {
        field: 'partner.certFile',
      },
    );
  }
  const caFromConfig = () => {
    if (!existsSync(config.keyservice.caFile)) {
      throw new KeybridgeError('config-invalid', `keyservice.caFile: ${config.keyservice.caFile} does not exist`, {
        field: 'keyservice.caFile',
      });
    }
    return readFileSync(config.keyservice.caFile, 'utf8');
  };
  const client = new HttpsKeyServiceClient({
    urls: config.keyservice.urls,
    // clientTls, not current(): a partner presents the platform's certificate to register.
    tls: () => certificates.clientTls(),
    caCertPem: caFromConfig,
  });
  try {
    caFromConfig(); // fail at start-up, naming the field, rather than at the first request
    return await startAgent({
      client,
      certificates,
      token: await ensureTokenFile(config.tokenFile),
      region: config.region,
      webroots: config.webroots,
      cache: { ...config.cache, maxEntries: 10_000 },
      log,
      listen: config.listen,
      renewal: { onError: onRenewalError },
    });
  } catch (error) {
    client.close();
    throw error;
  }
}
