import { KeybridgeError } from '../errors.ts';
import { verifyProductionRequest } from '../pki/index.ts';
import type { ProductionRequestState, Registry, SiteRecord } from '../storage/registry-types.ts';
import { passwordRequired, requirePassword } from './accounts.ts';
import { keyFromCsr, partnerIssues, type Issue, type IssuedCertificate } from './certificate-issuer.ts';
import type { CertifiedIdentity } from './client-identifier.ts';
import type { PasswordGuard } from './password-guard.ts';

/**
 * How production certificates come to be (DESIGN.md, Certificates). A copied development host
 * or database must not be able to mint one, so the move to production takes more than a
 * development host holds:
 *
 * - the request is signed with the development certificate's key and presented over TLS with
 *   that certificate (pki/production-request.ts: fresh, one-time nonce), AND carries the
 *   account password;
 * - then the production policy: `open` issues at once; `approval` (the default of
 *   `keybridge server`) records the request as pending and issues only after the operator
 *   approved THAT request, the one of that development certificate; the approval is spent
 *   by the certificate it issues, so the next move needs the next approval.
 *
 * Once a site has production certificates, another production host gets one either the same
 * way (password + policy) or from a valid production certificate signing for it
 * (`addHost`: origin `production-host`). A development certificate alone never does.
 */
export type ProductionPolicy = 'open' | 'approval';

export type ProductionOutcome = { status: 'issued'; certificate: IssuedCertificate } | { status: 'pending' };

export class ProductionMoves {
  readonly #registry: Registry;
  readonly #issue: Issue;
  readonly #guard: PasswordGuard;
  readonly #policy: ProductionPolicy;
  readonly #now: () => Date;

  constructor(options: { registry: Registry; issue: Issue; guard: PasswordGuard; policy: ProductionPolicy; now: () => Date }) {
    this.#registry = options.registry;
    this.#issue = options.issue;
    this.#guard = options.guard;
    this.#policy = options.policy;
    this.#now = options.now;
  }

  /** `body`: `{request, signature}` as pki/production-request.ts signs it, and `password`. */
  async move(
    identity: CertifiedIdentity,
    body: { request?: unknown; signature?: unknown; password?: unknown },
  ): Promise<ProductionOutcome> {
    if (identity.environment !== 'development') {
      throw new KeybridgeError(
        'certificate-forbidden',
        'only a development certificate moves to production; a production certificate adds production hosts',
      );
    }
    const request = verifyProductionRequest({ request: body.request, signature: body.signature }, identity.certificateDer, {
      now: this.#now(),
    });
    if (request.siteId !== identity.siteId || request.devCertSerialHex !== identity.serialHex) {
      throw new KeybridgeError('production-request-invalid', 'the request names another certificate');
    }
    const site = await this.#site(identity.siteId, 'the move to production');
    const account = await this.#registry.getAccount(site.accountId);
    if (!account) throw new KeybridgeError('internal', 'the site has no account');
    // A request without any password is no guess: refused without spending one of the account's attempts.
    if (typeof body.password !== 'string' || body.password === '') throw passwordRequired();
    await this.#guard.attempt(account.email, () => requirePassword(this.#guard, account, body.password));
    // Checked before an approval or a nonce is spent on it.
    const key = keyFromCsr(request.csrPem);

    const approval = this.#policy === 'approval' ? await this.#approval(site, identity.serialHex) : null;
    if (approval === 'pending') return { status: 'pending' };
    // The nonce is spent only when a certificate is about to be issued, so asking again while pending is harmless.
    if (!(await this.#registry.useNonce(identity.siteId, request.nonce, this.#now().toISOString()))) {
      throw new KeybridgeError('request-replayed');
    }
    if (approval && !(await this.#spend(site.siteId, approval, 'none'))) {
      // Another request of this certificate spent the approval first.
      throw new KeybridgeError('request-replayed', 'the approval was used by another request');
    }
    const certificate = await this.#issue({
      siteId: identity.siteId,
      environment: 'production',
      key,
      origin: 'production',
      parentSerial: identity.serialHex,
    });
    return { status: 'issued', certificate };
  }

  /** A production certificate signing for another production host of its site. */
  async addHost(identity: CertifiedIdentity, csrPem: unknown): Promise<IssuedCertificate> {
    if (identity.environment !== 'production') {
      throw new KeybridgeError('certificate-forbidden', 'only a production certificate adds production hosts');
    }
    await this.#site(identity.siteId, 'a new production host');
    return this.#issue({
      siteId: identity.siteId,
      environment: 'production',
      key: keyFromCsr(csrPem),
      origin: 'production-host',
      parentSerial: identity.serialHex,
    });
  }

  /**
   * The operator decides the site's pending request (`keybridge server sites approve|deny SITE`);
   * false when no request is pending.
   */
  async decide(siteId: string, decision: 'approved' | 'denied'): Promise<boolean> {
    const site = await this.#registry.getSite(siteId);
    if (!site || site.productionApproval !== 'pending') return false;
    return this.#registry.updateProductionApproval(
      siteId,
      { approval: 'pending', requestedBy: site.productionRequestedBy },
      { approval: decision, requestedBy: site.productionRequestedBy },
      this.#now().toISOString(),
    );
  }

  /**
   * Under `approval`: the state of this certificate's request, to spend if it was decided,
   * else `pending` (recorded now; a newer request of another certificate replaces an older
   * one). A denial is answered once, then forgotten, so asking again starts a new request.
   * An approval from before requests were per certificate (no serial) is spent by the next one.
   */
  async #approval(site: SiteRecord, serial: string): Promise<ProductionRequestState | 'pending'> {
    const state = { approval: site.productionApproval, requestedBy: site.productionRequestedBy };
    const ours = state.requestedBy === serial || (state.requestedBy === null && state.approval === 'approved');
    if (ours && state.approval === 'approved') return state;
    if (ours && state.approval === 'denied') {
      await this.#spend(site.siteId, state, 'none');
      throw new KeybridgeError('production-request-invalid', 'an operator denied this request: ask again to make a new one');
    }
    if (!(state.approval === 'pending' && ours)) {
      await this.#registry.setProductionApproval(site.siteId, 'pending', this.#now().toISOString(), serial);
    }
    return 'pending';
  }

  #spend(siteId: string, from: ProductionRequestState, to: 'none'): Promise<boolean> {
    return this.#registry.updateProductionApproval(siteId, from, { approval: to, requestedBy: null }, this.#now().toISOString());
  }

  async #site(siteId: string, what: string): Promise<SiteRecord> {
    const site = await this.#registry.getSite(siteId);
    if (!site) throw new KeybridgeError('certificate-invalid', 'the site no longer exists');
    // Otherwise a platform's certificate could promote itself past the platform's operator.
    if (site.partner) throw partnerIssues(site.partner, what);
    return site;
  }
}
