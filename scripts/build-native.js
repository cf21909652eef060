#!/usr/bin/env node
/**
 * npm's install step: builds the native memory helper (native/memory.c, binding.gyp) with node-gyp.
 * It builds against this Node's own headers when they are installed (npm's `nodedir`, or the headers
 * beside the node binary), so a machine without internet builds it too.
 *
 * The helper is optional: without it the processes run as before and keep glibc's freed heap
 * (src/nativeMemory.ts), and this says so instead of failing the install. KONNECTIVITY_NATIVE=required
 * makes a failed build fail the install (CI); KONNECTIVITY_NATIVE=off skips it.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const setting = process.env.KONNECTIVITY_NATIVE || 'optional';

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    ),
  ];
  for (const candidate of candidates) if (candidate && fs.existsSync(candidate)) return candidate;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

/** A directory with include/node/node_api.h for this Node, so that node-gyp downloads nothing. */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.join(path.dirname(process.execPath), '..')];
  for (const candidate of candidates) {
    if (candidate && fs.existsSync(path.join(candidate, 'include/node/node_api.h')))
      return path.resolve(candidate);
  }
  return null;
}

function notBuilt(reason) {
  const message = `konnectivity: the native memory helper was not built (${reason}).`;
  if (setting === 'required') {
    console.error(`${message} KONNECTIVITY_NATIVE=required: failing the install.`);
    process.exit(1);
  }
  console.warn(
    `${message} The server and agent run without it, but keep the C heap a large transfer grew ` +
      `(docs/memory.md). Install python3, make and a C compiler, then run ` +
      `'npm rebuild konnectivity-ts' or 'node scripts/build-native.js'.`,
  );
  process.exit(0);
}

if (setting === 'off') process.exit(0);
const gyp = nodeGyp();
if (!gyp) notBuilt('node-gyp not found');
const args = [gyp, 'rebuild'];
const dir = nodeDir();
if (dir) args.push(`--nodedir=${dir}`);
const built = spawnSync(process.execPath, args, {
  cwd: ROOT,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (built.error) notBuilt(built.error.message);
if (built.status !== 0) {
  const tail = `${built.stdout}\n${built.stderr}`.trim().split('\n').slice(-6).join('\n');
  console.error(tail);
  notBuilt(`node-gyp exited with ${built.status}`);
}
