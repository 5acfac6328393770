import { KeybridgeError } from '../../errors.ts';

/**
 * The DNS-rebinding guard: a web page the site's visitors open can make their browser send
 * requests to 127.0.0.1 under a name the page's owner controls (rebinding that name to
 * loopback), and the browser then sends that name as the Host header. So on TCP the agent
 * answers only requests whose Host is a loopback name or address, with or without a port:
 * `localhost`, `127.x.y.z` or `[::1]`. On a unix socket no browser can connect, and any Host
 * (PHP sends `localhost`) is fine: the pipeline does not call this there.
 */
const LOOPBACK_HOST = /^(?:localhost|127\.(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){2}(?:25[0-5]|2[0-4]\d|1?\d?\d)|\[::1\])(?::\d{1,5})?$/i;

/** The last Host admitted: clients send the same one on every request, so the pattern runs once per new value. */
let lastAdmitted = '';

export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  if (host === lastAdmitted) return true;
  if (!LOOPBACK_HOST.test(host)) return false;
  lastAdmitted = host;
  return true;
}

export function requireLoopbackHost(host: string | undefined): void {
  if (!isLoopbackHost(host)) {
    // The Host a request named is not a secret, but it is the caller's text: say only what is wrong.
    throw new KeybridgeError(
      'host-not-allowed',
      host === undefined ? 'the request has no Host header' : 'use 127.0.0.1, [::1] or localhost',
    );
  }
}
