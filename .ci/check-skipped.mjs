// Fails when the test report lists any skipped or todo test: in CI every integration suite must run.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = [];
for (const file of report.testResults ?? []) {
  for (const test of file.assertionResults ?? []) {
    if (test.status !== 'passed' && test.status !== 'failed') skipped.push(`${test.status}: ${test.fullName}`);
  }
}
const total = report.numTotalTests ?? 0;
if (total === 0) {
  console.error('no test ran');
  process.exit(1);
}
if (skipped.length > 0) {
  console.error(`${skipped.length} test(s) did not run:\n${skipped.join('\n')}`);
  process.exit(1);
}
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, 0 skipped`);
