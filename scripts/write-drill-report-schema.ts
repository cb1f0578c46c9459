// Regenerates docs/drill-report.schema.json from the zod schema in src/drill/report.ts:
//   npx tsx scripts/write-drill-report-schema.ts
// A unit test (test/unit/drill/report.test.ts) fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { drillReportJsonSchemaText } from '../src/drill/report.js';

const path = new URL('../docs/drill-report.schema.json', import.meta.url);
writeFileSync(path, drillReportJsonSchemaText());
console.log(`wrote ${path.pathname}`);
