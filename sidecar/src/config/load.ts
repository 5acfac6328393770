import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseDocument } from 'yaml';
import { KeybridgeError } from '../errors.ts';
import { configError, configPath, expectString, type ConfigPath } from './validate.ts';

/** Reading a YAML config file, and the checks the server and agent configs share. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function readConfigFile(file: string): Promise<string> {
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_CONFIG_BYTES) throw configError(configPath(file), 'is larger than 1 MB');
    return bytes.toString('utf8');
  } catch (error) {
    if (error instanceof KeybridgeError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw configError(configPath(file), `cannot be read (${code})`);
  }
}

export function parseYaml(text: string, sourceName: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const [error] = doc.errors;
  if (error) {
    const position = error.linePos?.[0];
    const where = position ? `line ${position.line}, column ${position.col}` : 'YAML';
    const reason = error.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '');
    throw new KeybridgeError('config-invalid', `${sourceName}: ${where}: ${reason}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw new KeybridgeError('config-invalid', `${sourceName}: the YAML uses too many aliases`);
  }
}

export function expectPathString(value: unknown, at: ConfigPath): string {
  const path = expectString(value, at, { expected: 'a non-empty file system path', maxLength: 4096 });
  if (path.includes('\u0000')) throw configError(at, 'must not contain a NUL character');
  return path;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function expectHost(value: unknown, at: ConfigPath): string {
  const host = expectString(value, at, { expected: 'an IP address or a host name (e.g. 127.0.0.1, ::1, 0.0.0.0)' });
  if (isIP(host) === 0 && !HOSTNAME.test(host)) {
    throw configError(at, 'must be an IP address or a host name (e.g. 127.0.0.1, ::1, 0.0.0.0)');
  }
  return host;
}
