import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { subjectFromForgeAttributes, subjectToForgeAttributes, validateSubject, validateSubjectInput } from './subject.ts';
import { thrown } from '../../test-helpers/pki-fixtures.ts';

const good = { country: 'DE', state: 'Bayern', locality: 'München', organization: 'Müller & Söhne GmbH' };

describe('subject input', () => {
  it('accepts a typical form, non-ASCII included, and returns it typed', () => {
    expect(validateSubjectInput(good)).toEqual(good);
    expect(validateSubjectInput({ ...good, organization: 'A'.repeat(64) }).organization).toHaveLength(64);
  });

  it('wants the country as two uppercase letters', () => {
    for (const country of ['de', 'DEU', 'D', '', 'D1', undefined, 49]) {
      const error = thrown(() => validateSubjectInput({ ...good, country }));
      expect([error.type, error.field]).toEqual(['invalid-field', 'country']);
    }
  });

  it('refuses separators, control and invisible characters, blank, padded and over-long values, naming the field', () => {
    const bad = [
      '',
      ' ',
      'a'.repeat(65),
      'Acme, Inc',
      'Acme/OU=production',
      'a\\b',
      'x=y',
      'tab\there',
      'new\nline',
      'nul\u0000',
      'bidi\u202Eevil',
      'zero\u200Bwidth',
      ' padded',
      'padded ',
      'line\u2028sep',
      42,
      null,
      undefined,
    ];
    for (const organization of bad) {
      const error = thrown(() => validateSubjectInput({ ...good, organization }));
      expect([error.type, error.field]).toEqual(['invalid-field', 'organization']);
    }
    expect(thrown(() => validateSubjectInput({ ...good, state: '' })).field).toBe('state');
    expect(thrown(() => validateSubjectInput({ ...good, locality: 'a,b' })).field).toBe('locality');
  });

  it('counts characters, not UTF-16 units: 64 emoji fit', () => {
    expect(validateSubjectInput({ ...good, organization: '🔑'.repeat(64) }).organization).toBe('🔑'.repeat(64));
    expect(errorType(() => validateSubjectInput({ ...good, organization: '🔑'.repeat(65) }))).toBe('invalid-field');
  });

  it('validateSubject requires a commonName and checks every field present', () => {
    expect(validateSubject({ commonName: 'site-1', organizationalUnit: 'development' })).toEqual({
      commonName: 'site-1',
      organizationalUnit: 'development',
    });
    expect(thrown(() => validateSubject({ commonName: '' })).field).toBe('commonName');
    expect(thrown(() => validateSubject({ commonName: 's', organizationalUnit: 'dev,OU=production' })).field).toBe('organizationalUnit');
  });
});

describe('subject ⇄ forge attributes', () => {
  it('round-trips through DER, with C as PrintableString and the rest as UTF8String', () => {
    const subject = { commonName: 'site-1', organizationalUnit: 'development', ...good };
    const attributes = subjectToForgeAttributes(subject);
    expect(attributes.map((a) => a.shortName)).toEqual(['C', 'ST', 'L', 'O', 'OU', 'CN']);
    const der = forge.asn1.toDer(forge.pki.distinguishedNameToAsn1({ attributes })).getBytes();
    // RDNAttributesAsArray is forge's own name parser, missing from @types/node-forge.
    const pki = forge.pki as unknown as { RDNAttributesAsArray(rdn: forge.asn1.Asn1): forge.pki.CertificateField[] };
    const parsed = pki.RDNAttributesAsArray(forge.asn1.fromDer(der));
    expect(parsed.map((a) => a.valueTagClass)).toEqual([19, 12, 12, 12, 12, 12]);
    expect(subjectFromForgeAttributes(parsed)).toEqual(subject);
  });

  it('refuses a name that repeats a known attribute (which OU would be the environment?)', () => {
    const attributes = [
      { type: '2.5.4.11', value: 'development', valueTagClass: 12 },
      { type: '2.5.4.11', value: 'production', valueTagClass: 12 },
      { type: '2.5.4.3', value: 'site-1', valueTagClass: 12 },
    ];
    expect(() => subjectFromForgeAttributes(attributes as never)).toThrow(/repeats OU/);
  });

  it('ignores unknown attributes and gives an empty CN when there is none', () => {
    const attributes = [
      { type: '1.2.840.113549.1.9.1', value: 'a@example.org', valueTagClass: 22 },
      { type: '2.5.4.10', value: 'Some CA', valueTagClass: 19 },
    ];
    expect(subjectFromForgeAttributes(attributes as never)).toEqual({ commonName: '', organization: 'Some CA' });
  });

  it('refuses invalid UTF-8 in a UTF8String', () => {
    expect(() => subjectFromForgeAttributes([{ type: '2.5.4.3', value: '\xff\xfe', valueTagClass: 12 }] as never)).toThrow();
  });
});
