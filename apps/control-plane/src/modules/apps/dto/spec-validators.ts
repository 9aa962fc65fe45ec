import { ValidateBy, type ValidationOptions } from 'class-validator';
import {
  envProblem,
  isDnsLabel,
  isDockerReference,
  isGitBranchName,
  isGitUrl,
  isHealthCheckPath,
  isSafeRelativePath,
} from '../app-spec.rules';

/** class-validator decorators over the pure rules in app-spec.rules.ts. */
function rule(name: string, test: (value: unknown) => boolean, message: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name, validator: { validate: (value) => test(value), defaultMessage: () => `$property ${message}` } }, options);
}

export const IsDnsLabel = (options?: ValidationOptions) =>
  rule('isDnsLabel', isDnsLabel, 'must be a DNS label: 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit', options);

export const IsGitUrl = (options?: ValidationOptions) =>
  rule('isGitUrl', isGitUrl, 'must be a git URL (https://, http://, ssh://, git:// or file://, or scp-like user@host:path)', options);

export const IsGitBranchName = (options?: ValidationOptions) =>
  rule('isGitBranchName', isGitBranchName, 'must be a valid git branch name (see git check-ref-format)', options);

export const IsSafeRelativePath = (options?: ValidationOptions) =>
  rule('isSafeRelativePath', isSafeRelativePath, 'must be a path relative to the repository root, without ".." segments', options);

export const IsDockerReference = (options?: ValidationOptions) =>
  rule('isDockerReference', isDockerReference, 'must be a docker image reference such as nginx:1.27 or ghcr.io/acme/api@sha256:…', options);

export const IsHealthCheckPath = (options?: ValidationOptions) =>
  rule('isHealthCheckPath', isHealthCheckPath, 'must be an HTTP path starting with "/" (no spaces, at most 1024 characters)', options);

export function IsEnvMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isEnvMap',
      validator: {
        validate: (value) => envProblem(value) === null,
        defaultMessage: (args) => `$property ${envProblem(args?.value) ?? 'is not valid'}`,
      },
    },
    options,
  );
}
