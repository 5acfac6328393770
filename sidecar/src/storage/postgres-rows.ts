/** Row conversions for the PostgreSQL storage: shared with SQLite, see rows.ts. */
export { type Row, auditFromRow, fromBuffer, metaFromRow, rootKeyFromRow, rootKeyNotActive, toBuffer, vaultFromRow } from './rows.ts';
