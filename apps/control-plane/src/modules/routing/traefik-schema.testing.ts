/**
 * The Traefik v3 file-provider JSON schema, read from the shared reference (../shared/reference beside
 * the repository) at test time; it is never copied into the repository.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../../../../..');
export const TRAEFIK_SCHEMA_PATH = path.resolve(REPO_ROOT, '../shared/reference/traefik-v3-file-provider.json');

let validate: ValidateFunction | undefined;

/** Validates a rendered body; returns ajv's errors as text, or '' when it is valid. */
export function traefikSchemaErrors(body: string): string {
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validate = ajv.compile(JSON.parse(readFileSync(TRAEFIK_SCHEMA_PATH, 'utf8')));
  }
  return validate(JSON.parse(body)) ? '' : JSON.stringify(validate.errors, null, 1);
}
