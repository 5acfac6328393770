import { KeybridgeError } from '../errors.ts';

/**
 * Small start-up validation helpers for keybridge's YAML configs. Every failure is
 * `config-invalid` with a message "<source>: <field>: <what is wrong>" and `field` set to
 * the dotted path, so a person sees at once which line to fix. Messages describe what is
 * expected and never quote the bad value.
 */
export interface ConfigPath {
  /** The file (or other source) name, as the user gave it. */
  source: string;
  /** Dotted path of the field, e.g. `storage.path`; empty for the document itself. */
  field: string;
}

export function configPath(source: string): ConfigPath {
  return { source, field: '' };
}

export function child(at: ConfigPath, key: string): ConfigPath {
  return { source: at.source, field: at.field ? `${at.field}.${key}` : key };
}

export function configError(at: ConfigPath, message: string): KeybridgeError {
  const where = at.field ? `${at.source}: ${at.field}` : at.source;
  return new KeybridgeError('config-invalid', `${where}: ${message}`, at.field ? { field: at.field } : {});
}

export function expectObject(value: unknown, at: ConfigPath): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(at, value === undefined || value === null ? 'is required (a mapping)' : 'must be a mapping');
  }
  return value as Record<string, unknown>;
}

/** Refuses any key not in `allowed`, naming the first one found. */
export function rejectUnknownKeys(object: Record<string, unknown>, allowed: readonly string[], at: ConfigPath): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      const name = /^[A-Za-z0-9_.-]{1,64}$/.test(key) ? key : JSON.stringify(key.slice(0, 64));
      throw configError(child(at, name), `is not a known setting (known here: ${allowed.join(', ')})`);
    }
  }
}

export interface StringRule {
  /** Must match; describe it in `expected`. */
  pattern?: RegExp;
  /** What a valid value looks like, for the message, e.g. "a region like eu or us-east". */
  expected?: string;
  maxLength?: number;
}

export function expectString(value: unknown, at: ConfigPath, rule: StringRule = {}): string {
  const expected = rule.expected ?? 'a non-empty string';
  if (value === undefined || value === null) throw configError(at, `is required: ${expected}`);
  if (typeof value !== 'string' || value.length === 0) throw configError(at, `must be ${expected}`);
  if (rule.maxLength !== undefined && value.length > rule.maxLength) {
    throw configError(at, `must be at most ${rule.maxLength} characters`);
  }
  if (rule.pattern && !rule.pattern.test(value)) throw configError(at, `must be ${expected}`);
  return value;
}

export function expectEnum<T extends string>(value: unknown, at: ConfigPath, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw configError(at, `must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

export function expectInteger(value: unknown, at: ConfigPath, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw configError(at, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** A TCP port, 1–65535 (0, "any free port", only when `allowZero`). */
export function expectPort(value: unknown, at: ConfigPath, options: { allowZero?: boolean } = {}): number {
  return expectInteger(value, at, options.allowZero ? 0 : 1, 65535);
}

/** `check(value)` when the setting is present, else the default. */
export function optional<T>(value: unknown, fallback: T, check: (value: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}
