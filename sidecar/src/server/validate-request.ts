import { KeybridgeError } from '../errors.ts';
import { ENVIRONMENTS, MAX_USAGE_RECORDS, USAGE_CALLER_PATTERN } from '../protocol/keyservice.ts';
import type { ClientIdentity, Environment, PutSecretRequest, UsageRecord } from '../protocol/keyservice.ts';

/**
 * Strict checks of what a client sends the key service. Everything is opaque to the
 * service, so the checks are about shape and size; messages never echo a value.
 */
export const KEY_ID_PATTERN = /^[0-9a-f]{64}$/;
export const MAX_SEALED_TEXT_CHARS = 4096;
export const MAX_CIPHERTEXT_CHARS = 96 * 1024;
export const MAX_GET_IDS = 1000;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const KEK_ID = /^[A-Za-z0-9_-]{22}$/;
const CIPHERTEXT = /^kb1\.[A-Za-z0-9_-]+$/;
const SITE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PUT_FIELDS = ['keyId', 'sealedName', 'sealedLabel', 'kekId', 'ciphertext'] as const;

function invalid(field: string, why: string): KeybridgeError {
  return new KeybridgeError('invalid-field', `${field} ${why}`, { field });
}

export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID_PATTERN.test(value);
}

export function validateKeyId(value: unknown, field = 'keyId'): string {
  if (!isKeyId(value)) throw invalid(field, 'must be 64 lowercase hex characters (an opaque key id)');
  return value;
}

export function validateKeyIds(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid('keyIds', 'must be an array of key ids');
  if (value.length > MAX_GET_IDS) throw invalid('keyIds', `must hold at most ${MAX_GET_IDS} ids`);
  return value.map((id, index) => validateKeyId(id, `keyIds[${index}]`));
}

function base64UrlText(value: unknown, field: string, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw invalid(field, 'must be a base64url string');
  if (!allowEmpty && value.length === 0) throw invalid(field, 'must not be empty');
  if (value.length > MAX_SEALED_TEXT_CHARS) throw invalid(field, `must be at most ${MAX_SEALED_TEXT_CHARS} characters`);
  if (!BASE64URL.test(value)) throw invalid(field, 'must be base64url (A-Z a-z 0-9 - _, no padding)');
  return value;
}

/** A fresh request holding only the known, checked fields. */
export function validatePutRequest(value: unknown): PutSecretRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeybridgeError('bad-request', 'the request must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(PUT_FIELDS as readonly string[]).includes(key)) throw invalid(safeFieldName(key), 'is not a known field');
  }
  const keyId = validateKeyId(record.keyId);
  const sealedName = base64UrlText(record.sealedName, 'sealedName', false);
  const sealedLabel = base64UrlText(record.sealedLabel, 'sealedLabel', true);
  const kekId = record.kekId;
  if (typeof kekId !== 'string' || !KEK_ID.test(kekId)) throw invalid('kekId', 'must be 22 base64url characters');
  const ciphertext = record.ciphertext;
  if (typeof ciphertext !== 'string') throw invalid('ciphertext', 'must be a kb1 ciphertext string');
  if (ciphertext.length > MAX_CIPHERTEXT_CHARS) {
    throw invalid('ciphertext', `must be at most ${MAX_CIPHERTEXT_CHARS} characters`);
  }
  if (!CIPHERTEXT.test(ciphertext)) throw invalid('ciphertext', 'must be "kb1." followed by base64url');
  return { keyId, sealedName, sealedLabel, kekId, ciphertext };
}

const MAX_USAGE_COUNT = 1_000_000_000;
const UTC_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const USAGE_FIELDS = ['keyId', 'caller', 'reads', 'denied', 'lastReadAt'] as const;

/** A usage report: 1 to MAX_USAGE_RECORDS checked records, fresh objects with the known fields only. */
export function validateUsageRecords(value: unknown): UsageRecord[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_USAGE_RECORDS) {
    throw invalid('records', `must be an array of 1 to ${MAX_USAGE_RECORDS} usage records`);
  }
  return value.map((raw, index) => {
    const field = `records[${index}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(field, 'must be an object');
    const record = raw as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!(USAGE_FIELDS as readonly string[]).includes(key)) throw invalid(`${field}.${safeFieldName(key)}`, 'is not a known field');
    }
    const count = (name: 'reads' | 'denied') => {
      const n = record[name];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_USAGE_COUNT) {
        throw invalid(`${field}.${name}`, `must be an integer from 0 to ${MAX_USAGE_COUNT}`);
      }
      return n;
    };
    const caller = record.caller;
    if (typeof caller !== 'string' || !USAGE_CALLER_PATTERN.test(caller)) {
      throw invalid(`${field}.caller`, 'must be plugin:<folder>, mu-plugin:<file>, theme:<folder>, core or unknown');
    }
    const lastReadAt = record.lastReadAt;
    if (typeof lastReadAt !== 'string' || !UTC_SECOND.test(lastReadAt) || Number.isNaN(Date.parse(lastReadAt))) {
      throw invalid(`${field}.lastReadAt`, 'must be a UTC time such as 2026-01-31T12:00:00Z');
    }
    return { keyId: validateKeyId(record.keyId, `${field}.keyId`), caller, reads: count('reads'), denied: count('denied'), lastReadAt };
  });
}

/** The identity comes from the transport (certificate), so a bad one is the server's fault. */
export function validateIdentity(identity: ClientIdentity): ClientIdentity {
  const ok =
    typeof identity === 'object' &&
    identity !== null &&
    typeof identity.siteId === 'string' &&
    SITE_ID.test(identity.siteId) &&
    ENVIRONMENTS.includes(identity.environment as Environment) &&
    typeof identity.subject === 'string' &&
    identity.subject.length > 0 &&
    identity.subject.length <= 1024;
  if (!ok) throw new KeybridgeError('unauthorized', 'the client identity is incomplete or malformed');
  return { siteId: identity.siteId, environment: identity.environment, subject: identity.subject };
}

/** An unknown field's name, made safe to quote (it is user input). */
function safeFieldName(key: string): string {
  return key.length <= 64 && /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key.slice(0, 64));
}
