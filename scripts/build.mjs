// Compiles apps/, libs/ and migrations/ into dist/ with SWC, keeping the tree's shape so the
// rewritten @berth/* imports resolve. Type checking is `npm run typecheck` (tsc --noEmit).
import { transformFile } from '@swc/core';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot, swcOptions } from './swc-options.mjs';

const roots = ['apps/control-plane/src', 'apps/worker-agent/src', 'apps/cli/src', 'libs', 'migrations', 'bench', 'test/support'];
const outDir = path.join(repoRoot, 'dist');

async function* sources(dir) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts') && !/\.(spec|e2e-spec)\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

async function compile(file) {
  const rel = path.relative(repoRoot, file);
  const target = path.join(outDir, rel.replace(/\.ts$/, '.js'));
  const [src, out] = await Promise.all([stat(file), stat(target).catch(() => null)]);
  if (out && out.mtimeMs >= src.mtimeMs) return false;
  const options = swcOptions();
  const result = await transformFile(file, { ...options, filename: file, sourceFileName: path.relative(path.dirname(target), file), outputPath: target });
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, result.code + `\n//# sourceMappingURL=${path.basename(target)}.map\n`);
  if (result.map) await writeFile(target + '.map', result.map);
  return true;
}

const files = [];
for (const root of roots) for await (const f of sources(path.join(repoRoot, root))) files.push(f);
const results = await Promise.all(files.map(compile));
const built = results.filter(Boolean).length;
if (process.argv.includes('--verbose')) console.log(`built ${built} of ${files.length} files into dist/`);
