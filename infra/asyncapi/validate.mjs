// Validate an AsyncAPI document with the official parser: prints every diagnostic, exits 1 on an error.
//   node infra/asyncapi/validate.mjs docs/asyncapi.yaml
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';

const { document, diagnostics } = await new Parser().parse(readFileSync(process.argv[2], 'utf8'));
for (const d of diagnostics) console.log(`${['error', 'warning', 'info', 'hint'][d.severity]} ${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
const errors = diagnostics.filter((d) => d.severity === 0).length;
console.log(document ? `parsed: ${Object.keys(document.json().channels).length} channels, ${errors} errors` : 'not parsed');
process.exit(errors || !document ? 1 : 0);
