import { KeybridgeError } from '../../errors.ts';
import type { KeyServiceClient, StoredSecret } from '../../protocol/keyservice.ts';
import type { CiphertextCache } from './cache.ts';

/**
 * Reads key records by opaque id: from the ciphertext cache where fresh, else from the key
 * service, so that a busy agent asks the key service as little as it can:
 *
 * - single flight: while one request for an id is on its way, every other reader of that
 *   id awaits it instead of sending its own (64 page requests missing one key → 1 call);
 * - batching: every id missed in one turn of the event loop (all requests parsed from the
 *   sockets that were readable together) goes in one `client.get` call;
 * - refresh ahead: a fresh hit the cache marks `refreshDue` (cache.ts) refetches that id in
 *   the background while the cached entry keeps serving; the answer replaces the entry.
 *   Refreshes wait up to a second (at most 1/12 of the TTL, well inside the 1/6 of it an
 *   entry has left when it comes due) so that those of keys read together share one call:
 *   each call costs the key service a transaction (read counts, audit) and the agent a
 *   round trip, and on `keybridge up` the key service runs in the agent's own event loop.
 *   A reader that needs an id whose refresh is still waiting sends it at once instead.
 *
 * When the key service is unreachable (`keyservice-unavailable`), an id whose entry is
 * stale, i.e. past its TTL but inside the stale window, is answered from it; anything else
 * fails. A failed background refresh changes nothing: the entry serves until its TTL,
 * then the foreground path above applies.
 */

/** Ids per key-service call; the key service takes up to 1000 (server/validate-request.ts). */
export const MAX_IDS_PER_CALL = 500;
/** How long refreshes wait for others to share their call, at most (see above). */
export const REFRESH_BATCH_MS = 1000;

/** Where a flight is: waiting for the next turn, waiting with the refreshes, or sent. */
type FlightState = 'soon' | 'later' | 'sent';

interface Flight {
  promise: Promise<StoredSecret | null>;
  resolve(record: StoredSecret | null): void;
  reject(error: unknown): void;
  /** A write or delete through this agent made the answer outdated: it is not cached. */
  superseded: boolean;
  state: FlightState;
}

export class RecordReader {
  private readonly inflight = new Map<string, Flight>();
  /** Flights waiting for the next turn of the event loop, and refreshes waiting for company. */
  private readonly queues: Record<'soon' | 'later', [string, Flight][] | null> = { soon: null, later: null };
  /** When a read last had to be served stale (ms since the epoch), for status pages. */
  lastStaleServeAt: number | null = null;

  constructor(
    private readonly client: KeyServiceClient,
    private readonly cache: CiphertextCache<StoredSecret>,
  ) {}

  /** Records for the ids in order, null where the key service has none. */
  /**
   * The records when every one is cached and fresh (refreshing ahead as read() does), else
   * null: lets a cached read answer without a promise. read() gives the same records.
   */
  readCached(keyIds: readonly string[]): (StoredSecret | null)[] | null {
    const results: (StoredSecret | null)[] = new Array(keyIds.length);
    for (let index = 0; index < keyIds.length; index++) {
      const hit = this.cache.lookup(keyIds[index]);
      if (hit.state !== 'fresh') return null;
      results[index] = hit.value;
      if (hit.refreshDue) this.refreshInBackground(keyIds[index]);
    }
    return results;
  }

  async read(keyIds: readonly string[]): Promise<(StoredSecret | null)[]> {
    const results: (StoredSecret | null)[] = new Array(keyIds.length).fill(null);
    let waiting: { index: number; flight: Flight; stale: { value: StoredSecret | null } | null }[] | null = null;
    for (let index = 0; index < keyIds.length; index++) {
      const id = keyIds[index];
      const hit = this.cache.lookup(id);
      if (hit.state === 'fresh') {
        results[index] = hit.value;
        if (hit.refreshDue) this.refreshInBackground(id);
      } else {
        (waiting ??= []).push({ index, flight: this.flightFor(id, 'soon'), stale: hit.state === 'stale' ? hit : null });
      }
    }
    if (!waiting) return results;

    const outcomes = await Promise.allSettled(waiting.map((wait) => wait.flight.promise));
    let servedStale = false;
    outcomes.forEach((outcome, position) => {
      const { index, stale } = waiting[position];
      if (outcome.status === 'fulfilled') results[index] = outcome.value;
      else if (stale && isUnavailable(outcome.reason)) {
        results[index] = stale.value;
        servedStale = true;
      } else throw outcome.reason;
    });
    if (servedStale) this.lastStaleServeAt = Date.now();
    return results;
  }

  /** After this agent stored `record` under `id`: cache it, and drop answers already on their way. */
  stored(id: string, record: StoredSecret): void {
    this.supersede(id);
    this.cache.store(id, record);
  }

  /** After this agent deleted `id`. */
  forgot(id: string): void {
    this.supersede(id);
    this.cache.forget(id);
  }

  private supersede(id: string): void {
    const flight = this.inflight.get(id);
    if (!flight) return;
    // Its readers still get its answer (their read overlapped the write); later readers
    // start a new flight instead of joining one that may predate the write.
    flight.superseded = true;
    this.inflight.delete(id);
  }

  private refreshInBackground(id: string): void {
    // Errors are dropped on purpose: the entry keeps serving, and a reader past its TTL
    // meets the same error in the foreground (or the stale entry during an outage).
    this.flightFor(id, 'later').promise.catch(() => undefined);
  }

  private flightFor(id: string, when: 'soon' | 'later'): Flight {
    const current = this.inflight.get(id);
    if (current) {
      // A reader waits for this id now: a refresh still waiting for company goes at once.
      if (when === 'soon' && current.state === 'later') this.enqueue(id, current, 'soon');
      return current;
    }
    let resolve!: Flight['resolve'];
    let reject!: Flight['reject'];
    const promise = new Promise<StoredSecret | null>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    const flight: Flight = { promise, resolve, reject, superseded: false, state: when };
    this.inflight.set(id, flight);
    this.enqueue(id, flight, when);
    return flight;
  }

  private enqueue(id: string, flight: Flight, when: 'soon' | 'later'): void {
    flight.state = when;
    let queue = this.queues[when];
    if (!queue) {
      queue = this.queues[when] = [];
      if (when === 'soon') setImmediate(() => this.flush('soon'));
      else setTimeout(() => this.flush('later'), Math.min(REFRESH_BATCH_MS, this.cache.ttlMs / 12)).unref();
    }
    queue.push([id, flight]);
  }

  private flush(when: 'soon' | 'later'): void {
    // Flights moved to the other queue since (a refresh a reader needed at once) are not ours.
    const queued = (this.queues[when] ?? []).filter(([, flight]) => flight.state === when);
    this.queues[when] = null;
    for (const [, flight] of queued) flight.state = 'sent';
    for (let start = 0; start < queued.length; start += MAX_IDS_PER_CALL) {
      void this.fetch(queued.slice(start, start + MAX_IDS_PER_CALL));
    }
  }

  private async fetch(flights: [string, Flight][]): Promise<void> {
    // An id can be queued twice when a write superseded its first flight before it left.
    const ids = [...new Set(flights.map(([id]) => id))];
    let records: (StoredSecret | null)[];
    try {
      records = await this.client.get(ids);
    } catch (error) {
      for (const [id, flight] of flights) {
        this.landed(id, flight);
        flight.reject(error);
      }
      return;
    }
    const byId = new Map(ids.map((id, index) => [id, records[index] ?? null]));
    for (const [id, flight] of flights) {
      const record = byId.get(id) ?? null;
      if (!flight.superseded) this.cache.store(id, record);
      this.landed(id, flight);
      flight.resolve(record);
    }
  }

  private landed(id: string, flight: Flight): void {
    if (this.inflight.get(id) === flight) this.inflight.delete(id);
  }
}

function isUnavailable(error: unknown): boolean {
  return error instanceof KeybridgeError && error.status === 503;
}
