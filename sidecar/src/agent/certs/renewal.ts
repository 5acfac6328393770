import type { Registrar } from './registrar.ts';

/**
 * Certificates renew themselves: every `intervalMs` the agent checks whether two thirds of
 * its certificate's lifetime have passed and, if so, gets a new one. A failure (key
 * service down) is retried at the next tick; the old certificate keeps working meanwhile.
 */
export function startRenewal(registrar: Registrar, intervalMs = 60 * 60 * 1000, onError?: (error: unknown) => void): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await registrar.renewIfDue();
    } catch (error) {
      onError?.(error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  void tick();
  return () => clearInterval(timer);
}
