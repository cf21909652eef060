/**
 * Compiles the packages the event log and its CLI are made of (they import the protocol, the actors'
 * recorder and the credential redaction in observability) into `<dir>/dist` with SWC, and copies the
 * bin shim to `<dir>/bin`, mirroring what `npm run build` lays out. Children find node_modules through
 * NODE_PATH.
 */
import { transformFile } from '@swc/core';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const PACKAGES = ['events', 'persistence', 'cli', 'protocol', 'actors', 'config', 'observability'];
/** Files at the top of src/ that those packages import (the typed-error base). */
const TOP_FILES = ['errors.ts'];

export async function buildForTest(outDir: string): Promise<void> {
  const packageFiles = await Promise.all(PACKAGES.map((pkg) => tsFiles(join(ROOT, 'src', pkg))));
  for (const file of [...TOP_FILES.map((f) => join(ROOT, 'src', f)), ...packageFiles.flat()]) {
    const { code } = await transformFile(file, {
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
      swcrc: false,
      configFile: false,
    });
    const target = join(outDir, 'dist', relative(join(ROOT, 'src'), file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, code);
  }
  await mkdir(join(outDir, 'bin'), { recursive: true });
  await copyFile(join(ROOT, 'bin', 'konnectivity-events'), join(outDir, 'bin', 'konnectivity-events'));
}

/** Environment for a child running built code: resolves packages from this repository. */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_PATH: join(ROOT, 'node_modules') };
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await tsFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}
