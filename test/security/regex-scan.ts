import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyse, type Report } from 'scslre';
import ts from 'typescript';

export interface FoundRegex {
  /** file:line */
  where: string;
  source: string;
  flags: string;
}

export interface RegexFinding extends FoundRegex {
  type: Report['type'];
  exponential: boolean;
  /** A character whose repetition makes the expression slow. */
  character: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(?:ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/**
 * Every regular expression in the TypeScript sources under `dirs`: literals
 * (`/.../g`) and `new RegExp('literal', 'flags')` / `RegExp('...')` with constant
 * arguments. A RegExp built from a variable cannot be checked here and is listed in `dynamic`.
 */
export function findRegexes(root: string, dirs: string[]): { regexes: FoundRegex[]; dynamic: string[] } {
  const regexes: FoundRegex[] = [];
  const dynamic: string[] = [];
  for (const dir of dirs) {
    for (const file of sourceFiles(path.join(root, dir))) {
      const text = fs.readFileSync(file, 'utf8');
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      const where = (node: ts.Node): string => `${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
      const visit = (node: ts.Node): void => {
        if (ts.isRegularExpressionLiteral(node)) {
          const literal = node.text;
          const end = literal.lastIndexOf('/');
          regexes.push({ where: where(node), source: literal.slice(1, end), flags: literal.slice(end + 1) });
        } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
          const [pattern, flags] = node.arguments ?? [];
          if (pattern && ts.isStringLiteralLike(pattern) && (!flags || ts.isStringLiteralLike(flags))) {
            regexes.push({ where: where(node), source: pattern.text, flags: flags && ts.isStringLiteralLike(flags) ? flags.text : '' });
          } else {
            dynamic.push(where(node));
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return { regexes, dynamic };
}

/** The expressions among `regexes` whose worst case is super-linear in the input's length (scslre's analysis). */
export function superLinear(regexes: FoundRegex[], types: Array<Report['type']> = ['Trade', 'Self', 'Move']): RegexFinding[] {
  const findings: RegexFinding[] = [];
  for (const regex of regexes) {
    const result = analyse({ source: regex.source, flags: regex.flags }, { reportTypes: { Trade: types.includes('Trade'), Self: types.includes('Self'), Move: types.includes('Move') } });
    for (const report of result.reports) {
      findings.push({ ...regex, type: report.type, exponential: report.exponential, character: report.character.pick });
    }
  }
  return findings;
}

/** Every `pattern` of the JSON Schemas in `dir` (ajv compiles them to RegExp with the `u` flag). */
export function schemaPatterns(dir: string): FoundRegex[] {
  const found: FoundRegex[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const walk = (node: unknown, pointer: string): void => {
      if (typeof node !== 'object' || node === null) return;
      for (const [key, child] of Object.entries(node)) {
        if (key === 'pattern' && typeof child === 'string') found.push({ where: `schemas/${name}#${pointer}`, source: child, flags: 'u' });
        else walk(child, `${pointer}/${key}`);
      }
    };
    walk(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')), '');
  }
  return found;
}
