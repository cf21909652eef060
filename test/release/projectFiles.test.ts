/**
 * What a release ships beside the code, against package.json, so neither drifts from the other: the LICENSE
 * text is the license `license` names, the README states the Node versions `engines` admits and opens a
 * "Deploy" section with the image (and its Kamaji tag scheme), Kamaji and plain Kubernetes paths, and the
 * CHANGELOG has a section for the version being released.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  version: string;
  license: string;
  engines: { node: string };
  files: string[];
};

/** The first lines of each license text we could ship, by SPDX identifier. */
const LICENSE_TEXTS: Readonly<Record<string, RegExp>> = {
  'Apache-2.0': /^\s*Apache License\s+Version 2\.0, January 2004\s/,
};

/** The sections of the README, each heading with its body. */
function readmeSections(): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = read('README.md').split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    sections.set(part.slice(0, newline).trim(), part.slice(newline + 1));
  }
  return sections;
}

it('ships the full text of the license package.json names', () => {
  const license = read('LICENSE');
  expect(license).toMatch(LICENSE_TEXTS[pkg.license] ?? /no known license text/);
  expect(license).toContain('END OF TERMS AND CONDITIONS');
  expect(pkg.files).toContain('LICENSE');
});

it('states in the README the oldest Node that engines admits', () => {
  const floor = /^>=(\d+)\.(\d+)\.0$/.exec(pkg.engines.node);
  expect(floor).not.toBeNull();
  expect(read('README.md')).toContain(`Node.js ${floor![1]}.${floor![2]} or newer`);
});

it('opens a "Deploy" section with the image, Kamaji and plain Kubernetes paths', () => {
  const sections = [...readmeSections().keys()];
  // Right after the demo, before the reference material.
  expect(sections.indexOf('Deploy')).toBe(1);
  const deploy = readmeSections().get('Deploy')!;
  expect(deploy).toMatch(/\*\*The container image\.\*\*[^]*Dockerfile/);
  expect(deploy).toMatch(/`\/proxy-server` and `\/proxy-agent`/);
  expect(deploy).toMatch(/`v0\.<minor>\.0`/);
  expect(deploy).toMatch(/\*\*Kamaji\.\*\*[^]*deploy\/kamaji\/tenant-control-plane\.yaml/);
  expect(deploy).toMatch(/\*\*Plain Kubernetes[^*]*\*\*[^]*deploy\/kubernetes\//);
});

it('has a CHANGELOG section for what is being released', () => {
  expect(read('CHANGELOG.md')).toMatch(
    new RegExp(`^## (Unreleased|${pkg.version.replace(/\./g, '\\.')})$`, 'm'),
  );
});
