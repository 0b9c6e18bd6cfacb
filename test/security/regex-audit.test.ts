import * as path from 'node:path';
import { expect } from 'chai';
import { packageRoot } from '../../server/paths';
import { findRegexes, schemaPatterns, superLinear } from './regex-scan';

/**
 * No regular expression of the hub may take more than linear time on any
 * input: one that backtracks froze the whole Node-RED process for 27 s on a
 * 304-byte Twee file. Every literal and constant `RegExp(...)` under server/
 * and nodes/, and every `pattern` of the JSON Schemas (ajv runs them on request
 * bodies), goes through scslre (the analysis behind eslint-plugin-regexp's
 * no-super-linear-backtracking and no-super-linear-move).
 */
describe('Regular expressions: none with super-linear worst case', () => {
  const { regexes, dynamic } = findRegexes(packageRoot, ['server', 'nodes']);
  const patterns = schemaPatterns(path.join(packageRoot, 'schemas'));

  it('finds the expressions to check, and none built from a variable (those could not be checked)', () => {
    expect(regexes.length, 'regular expressions in server/ and nodes/').to.be.greaterThan(50);
    expect(patterns.length, 'schema patterns').to.be.greaterThan(5);
    expect(dynamic, 'RegExp built at run time from a variable').to.deep.equal([]);
    console.log(`      checked ${regexes.length} regular expressions in server/ and nodes/ and ${patterns.length} schema patterns`);
  });

  it('catches the Twee passage-header expression that froze the hub, and a plain /a+$/', () => {
    const old = superLinear([{ where: 'old twee.ts', source: String.raw`^::\s*((?:\\.|[^\\[{])*?)\s*(?:\[((?:\\.|[^\]])*)\])?\s*(\{.*\})?\s*$`, flags: '' }]);
    expect(old.map((f) => f.type)).to.include('Trade');
    expect(superLinear([{ where: 'trailing run', source: 'a+$', flags: '' }]).map((f) => f.type)).to.deep.equal(['Move']);
  });

  it('has no expression that backtracks or moves super-linearly in server/, nodes/ or schemas/', () => {
    const findings = superLinear([...regexes, ...patterns]).map((f) => `${f.where} /${f.source}/${f.flags}: ${f.type}${f.exponential ? ' (exponential)' : ''} on a run of ${JSON.stringify(f.character)}`);
    expect([...new Set(findings)]).to.deep.equal([]);
  });
});
