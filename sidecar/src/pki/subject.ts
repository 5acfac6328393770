/**
 * Certificate subjects: the fields keybridge puts in a distinguished name, how user input for
 * them is checked, and the conversion to and from node-forge's attribute lists.
 *
 * Only six attribute types exist for keybridge. The CN is the site id and the OU is the
 * environment (`development` | `production`), so a subject is identity, not decoration: values
 * are checked strictly, and a name that repeats one of these types is refused rather than
 * guessed at (which OU would be "the" environment?).
 */
import forge from 'node-forge';
import { KeybridgeError } from '../errors.ts';

export interface SubjectFields {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
  state?: string;
  locality?: string;
}

type FieldName = keyof SubjectFields;

/** Attribute OIDs (X.520), in the order they are written into a name: broad to narrow. */
const ATTRIBUTES: ReadonlyArray<{ field: FieldName; oid: string; shortName: string }> = [
  { field: 'country', oid: '2.5.4.6', shortName: 'C' },
  { field: 'state', oid: '2.5.4.8', shortName: 'ST' },
  { field: 'locality', oid: '2.5.4.7', shortName: 'L' },
  { field: 'organization', oid: '2.5.4.10', shortName: 'O' },
  { field: 'organizationalUnit', oid: '2.5.4.11', shortName: 'OU' },
  { field: 'commonName', oid: '2.5.4.3', shortName: 'CN' },
];

/** X.520 upper bounds: ub-common-name, ub-organization-name, … are all 64 (128 for ST/L, kept at 64). */
export const MAX_SUBJECT_VALUE_LENGTH = 64;

/**
 * Refused in any value: control, format (bidi overrides, zero-width), surrogate and line/paragraph
 * separator characters, which can disguise a name in the admin UI or a log; and `,` `/` `\` `=`,
 * which are the separators of the two textual DN notations (RFC 4514 and OpenSSL's `/C=../O=..`)
 * and would let a value pretend to be another attribute wherever a DN is printed.
 */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp},/\\=]/u;

/** The reason `value` is not a valid subject value, or null when it is. */
function valueProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  const length = [...value].length;
  if (length < 1 || length > MAX_SUBJECT_VALUE_LENGTH) return `must be 1 to ${MAX_SUBJECT_VALUE_LENGTH} characters`;
  if (FORBIDDEN.test(value)) return 'must not contain control characters, commas, slashes or "="';
  if (value.trim() !== value) return 'must not begin or end with white space';
  return null;
}

function checkValue(value: unknown, field: FieldName): string {
  if (field === 'country') {
    // ISO 3166-1 alpha-2; RFC 5280 makes countryName a PrintableString of exactly two letters.
    if (typeof value !== 'string' || !/^[A-Z]{2}$/.test(value)) {
      throw new KeybridgeError('invalid-field', 'country must be two uppercase letters (ISO 3166-1)', { field });
    }
    return value;
  }
  const problem = valueProblem(value);
  if (problem !== null) throw new KeybridgeError('invalid-field', `${field} ${problem}`, { field });
  return value as string;
}

export interface SubjectInput {
  country?: unknown;
  state?: unknown;
  locality?: unknown;
  organization?: unknown;
}

/**
 * Checks the fields a person types into the custom-certificate form (all four required) and
 * returns them typed. Throws `invalid-field` naming the first bad field.
 */
export function validateSubjectInput(input: SubjectInput): {
  country: string;
  state: string;
  locality: string;
  organization: string;
} {
  return {
    country: checkValue(input.country, 'country'),
    state: checkValue(input.state, 'state'),
    locality: checkValue(input.locality, 'locality'),
    organization: checkValue(input.organization, 'organization'),
  };
}

/** Checks every present field of a subject (commonName required); throws `invalid-field`. */
export function validateSubject(subject: SubjectFields): SubjectFields {
  if (typeof subject !== 'object' || subject === null) {
    throw new KeybridgeError('invalid-field', 'subject must be an object', { field: 'subject' });
  }
  const out: SubjectFields = { commonName: checkValue(subject.commonName, 'commonName') };
  for (const { field } of ATTRIBUTES) {
    if (field === 'commonName' || subject[field] === undefined) continue;
    out[field] = checkValue(subject[field], field);
  }
  return out;
}

/** A validated subject as forge attributes: C as PrintableString, the rest as UTF8String. */
export function subjectToForgeAttributes(subject: SubjectFields): forge.pki.CertificateField[] {
  const checked = validateSubject(subject);
  const attributes: forge.pki.CertificateField[] = [];
  for (const { field, oid, shortName } of ATTRIBUTES) {
    const value = checked[field];
    if (value === undefined) continue;
    attributes.push({
      type: oid,
      shortName,
      value,
      valueTagClass: (field === 'country' ? forge.asn1.Type.PRINTABLESTRING : forge.asn1.Type.UTF8) as never,
    });
  }
  return attributes;
}

/** Decodes an attribute value from forge's byte string by its ASN.1 string type. */
function decodeValue(value: unknown, tag: unknown): string {
  if (typeof value !== 'string') throw new Error('attribute value is not a string');
  switch (tag) {
    case forge.asn1.Type.UTF8:
      return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'binary'));
    case forge.asn1.Type.PRINTABLESTRING:
    case forge.asn1.Type.IA5STRING:
    case 20: // TeletexString: in practice Latin-1
      return value;
    case forge.asn1.Type.BMPSTRING:
      return Buffer.from(value, 'binary').swap16().toString('utf16le');
    default:
      throw new Error('unsupported attribute string type');
  }
}

/**
 * A parsed name as SubjectFields. Unknown attribute types (emailAddress, serialNumber…) are
 * ignored; a repeated known type throws. A name without a CN (some CAs name themselves by O/OU
 * only) gets `commonName: ''`, which never equals a site id. Plain `Error`s: callers turn them
 * into their own problem type (`csr-invalid`, `certificate-invalid`).
 */
export function subjectFromForgeAttributes(attributes: forge.pki.CertificateField[]): SubjectFields {
  const found: Partial<Record<FieldName, string>> = {};
  for (const attribute of attributes) {
    const known = ATTRIBUTES.find((a) => a.oid === attribute.type);
    if (!known) continue;
    if (found[known.field] !== undefined) throw new Error(`the name repeats ${known.shortName}`);
    found[known.field] = decodeValue(attribute.value, attribute.valueTagClass);
  }
  const subject: SubjectFields = { commonName: found.commonName ?? '' };
  for (const { field } of ATTRIBUTES) {
    const value = found[field];
    if (field !== 'commonName' && value !== undefined) subject[field] = value;
  }
  return subject;
}
