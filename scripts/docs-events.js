// Writes the generated blocks of docs/events.md (event examples, reason vocabulary, CLI output) with the
// compiled src/tools/eventDocs.ts. With --check it writes nothing and exits 1 when the doc is stale.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const check = process.argv.includes('--check');
const fail = (message) => {
  console.error(`docs-events: ${message}`);
  process.exit(1);
};

const compiled = path.join(root, 'dist', 'tools', 'eventDocs.js');
if (!fs.existsSync(compiled)) fail('dist/tools/eventDocs.js is missing: run npm run build first');
const { applyEventDocBlocks, renderEventDocBlocks, EVENTS_DOC } = require(compiled);

const file = path.join(root, EVENTS_DOC);
const current = fs.readFileSync(file, 'utf8');
const next = applyEventDocBlocks(current, renderEventDocBlocks());
if (next === current) {
  console.log(`docs-events: ${EVENTS_DOC} is up to date`);
} else if (check) {
  fail(`${EVENTS_DOC} is stale: run npm run docs:events`);
} else {
  fs.writeFileSync(file, next);
  console.log(`docs-events: wrote ${EVENTS_DOC}`);
}
