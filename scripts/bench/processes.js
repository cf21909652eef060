/**
 * Every process the benchmark starts goes through here, so each is killed when the driver exits, whatever
 * the reason (normal end, error, SIGINT/SIGTERM). Helpers speak JSON lines; the real server and agent are
 * started from bin/ with their output in log files.
 */
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const { codeRoot, GC_NODE_ARGS } = require('./common');

const ROOT = path.join(__dirname, '../..');
const children = new Set();

function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

function register(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function exited(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Stops a child: `signal` first, SIGKILL after `graceMs`. */
async function stop(child, signal = 'SIGTERM', graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/**
 * A helper process (target, client, swarm, baseline server) that prints JSON lines. `next(pred, ms)` waits
 * for the next line matching `pred`; `send(obj)` writes a command line to its stdin.
 */
class LineChild {
  constructor(script, args, { nodeArgs = [], name = path.basename(script), logFile } = {}) {
    this.name = name;
    this.child = register(
      spawn(process.execPath, [...nodeArgs, path.join(__dirname, script), ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
    this.pid = this.child.pid;
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    const log = logFile ? fs.createWriteStream(logFile) : null;
    this.child.stderr.on('data', (d) => {
      if (this.stderr.length < 20000) this.stderr += d;
      if (log) log.write(d);
    });
    this.child.stdin.on('error', () => undefined);
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      this.lines.push(msg);
      this.flush();
    });
    this.child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      this.flush();
    });
  }

  flush() {
    for (const w of [...this.waiters]) {
      const i = this.lines.findIndex(w.pred);
      if (i >= 0) {
        const [msg] = this.lines.splice(i, 1);
        this.settle(w, null, msg);
      } else if (this.exit) {
        const detail = this.stderr.trim().split('\n').slice(-15).join('\n');
        this.settle(
          w,
          new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before answering\n${detail}`),
        );
      }
    }
  }

  settle(w, err, msg) {
    clearTimeout(w.timer);
    this.waiters.splice(this.waiters.indexOf(w), 1);
    if (err) w.reject(err);
    else w.resolve(msg);
  }

  next(pred, timeoutMs) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject };
      w.timer = setTimeout(
        () => this.settle(w, new Error(`${this.name}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push(w);
      this.flush();
    });
  }

  send(obj) {
    this.child.stdin.write(`${JSON.stringify(obj)}\n`);
  }

  async stop() {
    this.child.stdin.end();
    await stop(this.child, 'SIGTERM', 2000);
  }
}

/**
 * Runs the real `bin/<name>` (of the snapshot under test) under node, output to `logFile`, with gcHook.js
 * preloaded so its live memory can be measured.
 */
function startBinary(name, args, logFile, nodeArgs = GC_NODE_ARGS) {
  const out = fs.openSync(logFile, 'w');
  const child = register(
    spawn(process.execPath, [...nodeArgs, path.join(codeRoot(), 'bin', name), ...args], {
      stdio: ['ignore', out, out],
    }),
  );
  fs.closeSync(out);
  return child;
}

module.exports = { ROOT, LineChild, startBinary, stop, killAll, exited, register };
