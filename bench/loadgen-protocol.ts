/** Messages between bench/run.ts and the load generator child (bench/loadgen.ts), over IPC. */
import type { LatencySummary } from './histogram.ts';

export type Target = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface LoadgenConfig {
  target: Target;
  /** Complete HTTP/1.1 requests (head and body), sent in turn, round-robin across all connections. */
  requests: string[];
  /**
   * The agent token: the first request of each connection then carries the client's proof
   * for it (agent-auth.ts) and its answer must carry the agent's, before the run starts.
   */
  token?: string;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  /** Hard cap on requests sent (warm-up included); the run ends early when reached. */
  maxRequests: number;
  /** Expected final status: anything else counts as an error. */
  expectStatus: number;
}

export interface LoadgenResult {
  /** Responses completed inside the measured window. */
  completed: number;
  /** Requests sent over the whole run (warm-up included). */
  sent: number;
  windowMs: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: {
    /** Responses with a status other than `expectStatus`, by status, over the whole run. */
    byStatus: Record<string, number>;
    /** Connection errors, unexpected closes and unparseable responses, over the whole run. */
    transport: number;
    firstProblem?: string;
  };
  capped: boolean;
  stalled: boolean;
  /** CPU time the load generator used during the measured window, as a share of one core. */
  loadgenCpuShare: number;
  /** Completions per 100 ms slice of the window: shows stalls an average hides. */
  timeline100ms: number[];
  /** The fewest requests completed in any full second of the window (as req/s). */
  slowestSecondRps: number | null;
  /** Bytes of one response seen (the last one), for the report. */
  responseBytes: number;
}

export type LoadgenMessage =
  | { type: 'ready' }
  | { type: 'measure-start' }
  | { type: 'measure-end' }
  | { type: 'result'; result: LoadgenResult }
  | { type: 'fatal'; message: string };
