/**
 * Validation against the official nbformat 4.5 JSON schema (see test/fixtures/README.md), with Ajv's
 * draft-04 build because the schema is draft-04.
 */
import Ajv from 'ajv-draft-04';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const schema = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'nbformat.v4.5.schema.json'), 'utf8'),
);
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Schema errors of a notebook as readable lines; empty when valid. */
export function notebookSchemaErrors(nb: unknown): string[] {
  if (validate(nb)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
