import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../crypto/index.ts';
import { PasswordGuard } from './password-guard.ts';
import { PasswordHasher } from './password-hasher.ts';
import { RateLimiter } from './rate-limit.ts';

/**
 * The limits in front of the key service's unauthenticated work (issue 13, finding 5): token
 * buckets per address and per account, and password hashing in a bounded queue on a thread of
 * its own at a lower priority.
 */
describe('RateLimiter', () => {
  it('allows the burst, then refuses with the seconds until the next attempt, and refills with time', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 3, perMinute: 6 }, { now: () => now });
    for (let i = 0; i < 3; i++) limiter.take('a', 'attempts');
    expect(() => limiter.take('a', 'attempts')).toThrow(expect.objectContaining({ type: 'rate-limited', retryAfterSeconds: 10 }));
    limiter.take('b', 'attempts'); // another key has its own bucket
    now += 10_000;
    limiter.take('a', 'attempts');
    expect(() => limiter.take('a', 'attempts')).toThrow(expect.objectContaining({ type: 'rate-limited' }));
    limiter.refund('a');
    limiter.take('a', 'attempts');
  });

  it('keeps its memory bounded, forgetting the least recently used keys', () => {
    const limiter = new RateLimiter({ burst: 1, perMinute: 1 }, { maxKeys: 100 });
    for (let i = 0; i < 1000; i++) limiter.take(`key-${i}`, 'attempts');
    // The most recent keys are still remembered (and spent); the oldest were dropped (full again).
    expect(() => limiter.take('key-999', 'attempts')).toThrow(expect.objectContaining({ type: 'rate-limited' }));
    limiter.take('key-0', 'attempts');
  });
});

describe('PasswordGuard', () => {
  it('counts failed attempts per account and gives back the ones that succeed', async () => {
    const guard = new PasswordGuard({ perAccount: { burst: 2, perMinute: 1 } });
    try {
      for (let i = 0; i < 5; i++) await guard.attempt('owner@example.com', async () => 'right');
      await expect(guard.attempt('owner@example.com', async () => Promise.reject(new Error('wrong')))).rejects.toThrow('wrong');
      await expect(guard.attempt('owner@example.com', async () => Promise.reject(new Error('wrong')))).rejects.toThrow('wrong');
      await expect(guard.attempt('owner@example.com', async () => 'right')).rejects.toMatchObject({ type: 'rate-limited' });
      await guard.attempt('other@example.com', async () => 'right');
    } finally {
      await guard.close();
    }
  });

  it('hashes one password at a time with a bounded queue, refusing the rest at once', async () => {
    const guard = new PasswordGuard({ maxQueued: 1 });
    try {
      const stored = await guard.hash('a long enough password');
      const results = await Promise.allSettled([
        guard.verify('a long enough password', stored),
        guard.verify('another long password', stored),
        guard.verify('a long enough password', stored),
      ]);
      expect(results[0]).toEqual({ status: 'fulfilled', value: true });
      expect(results[1]).toEqual({ status: 'fulfilled', value: false });
      expect(results[2]).toMatchObject({ status: 'rejected', reason: { type: 'rate-limited', retryAfterSeconds: 2 } });
      // The queue drains: the next check runs.
      expect(await guard.verify('a long enough password', stored)).toBe(true);
    } finally {
      await guard.close();
    }
  });
});

describe('PasswordHasher', () => {
  it('makes the same hashes as the thread pool, on a thread of its own at nice 10', async () => {
    const hasher = new PasswordHasher();
    try {
      const stored = await hashPassword('a long enough password', hasher.run);
      expect(await verifyPassword('a long enough password', stored)).toBe(true);
      expect(await verifyPassword('a long enough password', await hashPassword('a long enough password'), hasher.run)).toBe(true);
      const nice = readdirSync('/proc/self/task').map((task) =>
        Number(readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1].split(' ')[16]),
      );
      expect(nice).toContain(10);
    } finally {
      await hasher.close();
    }
  });
});
