import { existsSync, readFileSync } from 'node:fs';
import { createAgent, type Agent } from '../agent/agent.ts';
import type { AccessLogEntry } from '../agent/app.ts';
import { startRenewal } from '../agent/certs/renewal.ts';
import { CertificateStore } from '../agent/certs/store.ts';
import { HttpsKeyServiceClient } from '../agent/keyservice/https-client.ts';
import { listen } from '../agent/listen.ts';
import { ensureTokenFile } from '../agent/token.ts';
import type { AgentConfig } from '../config/agent.ts';
import { KeybridgeError } from '../errors.ts';

/**
 * `keybridge agent --config FILE`: the sidecar from its validated config, reaching its key
 * service over mutual TLS, renewing its certificate by itself.
 */
export interface RunningAgent {
  url: string;
  agent: Agent;
  close(): Promise<void>;
}

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
  caFromConfig(); // fail at start-up, naming the field, rather than at the first request
  const agent = createAgent({
    client,
    certificates,
    token: await ensureTokenFile(config.tokenFile),
    region: config.region,
    webroots: config.webroots,
    cache: { ...config.cache, maxEntries: 10_000 },
    log,
  });
  const running = await listen(agent.app, config.listen, agent.fastReads);
  const stopRenewal = startRenewal(agent.registrar, undefined, onRenewalError);
  return {
    url: running.url,
    agent,
    close: async () => {
      stopRenewal();
      await running.close();
      client.close();
    },
  };
}
