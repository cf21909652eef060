/**
 * The image recipe against what the package ships, without building anything (carrying the Dockerfile out
 * and running the result is test/packaging/imageTree.test.ts): every binary in package.json `bin` has a
 * launcher in deploy/image/rootfs, which the Dockerfile's final stage copies to /, and that launcher runs the
 * same compiled entry point as bin/<name> from where the final stage puts dist/, with node named by the
 * absolute path the base image has it at (no /usr/bin/env, no shell). A binary added to `bin` without a
 * launcher, or a launcher left behind by a renamed entry point, fails here before any image is built.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { imageTree } from '../helpers/imageTreeScript';

const ROOT = path.join(__dirname, '..', '..');
const LAUNCHERS = path.join(ROOT, 'deploy', 'image', 'rootfs');

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};
const stages = imageTree.parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const final = stages[stages.length - 1]!;
const finalSteps = (instruction: string): string[] =>
  final.steps.filter((s) => s.instruction === instruction).map((s) => s.rest);

/** The names Kamaji and the reference's images use for the two programs; the others keep their own. */
const IMAGE_NAMES: Readonly<Record<string, string>> = {
  'konnectivity-server': 'proxy-server',
  'konnectivity-agent': 'proxy-agent',
};
const imageName = (bin: string): string => IMAGE_NAMES[bin] ?? bin;

/** `require('../dist/main-agent.js')` in bin/ and `join(__dirname, 'app', 'dist', 'main-agent.js')` in a launcher. */
function entryPoint(file: string): string | undefined {
  const text = readFileSync(file, 'utf8');
  return (
    /require\('\.\.\/dist\/([^']+)'\)\.main\(/.exec(text)?.[1] ??
    /join\(__dirname, 'app', 'dist', '([^']+)'\)\)\.main\(/.exec(text)?.[1]
  );
}

it('has a launcher for every binary in package.json, and none for a binary that is not there', () => {
  expect(readdirSync(LAUNCHERS).sort()).toEqual(Object.keys(pkg.bin).map(imageName).sort());
});

/** The Node flags a launcher's first line passes (`#!/usr/bin/env -S node <flags>` or `#!<node> <flags>`). */
function nodeFlags(firstLine: string, interpreter: RegExp): string {
  const match = interpreter.exec(firstLine);
  expect(match).not.toBeNull();
  return match![1]!.trim();
}

/**
 * The Node flags the image gives every program in NODE_OPTIONS: a launcher's first line holds only one flag,
 * so what does not fit there (and Node accepts from the environment) comes from the final stage's ENV.
 */
function imageNodeOptions(): string {
  let options = '';
  for (const rest of finalSteps('ENV')) {
    const match = /(?:^|\s)NODE_OPTIONS=("[^"]*"|\S+)/.exec(rest);
    if (match) options = match[1]!.replace(/^"|"$/g, '');
  }
  return options;
}

it.each(Object.keys(pkg.bin))(
  'the image launcher of %s runs the same entry point as its bin/ file, with the same Node flags',
  (bin) => {
    const launcher = path.join(LAUNCHERS, imageName(bin));
    const binFile = path.join(ROOT, pkg.bin[bin]!);
    const fromBin = entryPoint(binFile);
    expect(fromBin).toBeDefined();
    expect(entryPoint(launcher)).toBe(fromBin);
    const imageNode = imageTree.NODE_PATH_IN_IMAGE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    // The kernel hands everything after the interpreter to it as ONE argument: at most one flag fits.
    const launcherFlags = nodeFlags(
      readFileSync(launcher, 'utf8').split('\n')[0]!,
      new RegExp(`^#!${imageNode}((?: --[a-z-]+(?:=\\S+)?)?)$`),
    );
    const binFlags = nodeFlags(
      readFileSync(binFile, 'utf8').split('\n')[0]!,
      /^#!\/usr\/bin\/env(?: -S)? node((?: --[a-z-]+(?:=\S+)?)*)$/,
    );
    expect(`${launcherFlags} ${imageNodeOptions()}`.trim()).toBe(binFlags);
    expect(statSync(launcher).mode & 0o111).toBe(0o111);
  },
);

it('puts the launchers at / and dist/ where they look for it, in a final stage image-tree.js can carry out', () => {
  expect(finalSteps('COPY')).toEqual(
    expect.arrayContaining(['deploy/image/rootfs/ /', '--from=build /src/dist /app/dist']),
  );
  expect(finalSteps('RUN')).toEqual([]);
  expect(final.base).toMatch(/^node:\d+-bookworm-slim$/);
});

it('runs as a numeric non-root user and starts /proxy-server by default, as Kamaji expects', () => {
  expect(finalSteps('USER')).toHaveLength(1);
  const [uid, gid] = finalSteps('USER')[0]!.split(':').map(Number);
  expect(uid).toBeGreaterThan(0);
  expect(gid).toBeGreaterThan(0);
  expect(finalSteps('ENTRYPOINT')).toEqual(['["/proxy-server"]']);
});
