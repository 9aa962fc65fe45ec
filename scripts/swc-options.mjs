// One place for how TypeScript becomes JavaScript: the build and the test runner share it,
// so decorator metadata (NestJS injection) and the @berth/* path aliases behave the same in both.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const aliases = {
  '@berth/contracts': 'libs/contracts/src/index.ts',
  '@berth/event-store': 'libs/event-store/src/index.ts',
  '@berth/config': 'libs/config/src/index.ts',
  '@berth/core': 'libs/core/src/index.ts',
};

export function swcOptions() {
  return {
    sourceMaps: true,
    module: { type: 'commonjs', strict: true },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
      baseUrl: repoRoot,
      paths: Object.fromEntries(Object.entries(aliases).map(([k, v]) => [k, [v]])),
    },
  };
}
