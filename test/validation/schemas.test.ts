import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { packageRoot, schemasDir } from '../../server/paths';
import {
  COMMON_SCHEMA_FILE,
  getValidator,
  SCHEMA_BASE_URI,
  schemaNames,
  Validator,
  type JsonSchema,
  type SchemaName,
} from '../../server/validation';
import { allExamples } from './examples';

const SUFFIX = '.schema.json';
const genTypes = path.join(packageRoot, 'scripts', 'gen-types.mjs');
const typesFile = path.join(packageRoot, 'server', 'types', 'schemas.ts');

function schemaFiles(): string[] {
  return fs.readdirSync(schemasDir).filter((f) => f.endsWith(SUFFIX));
}

function readSchema(file: string): JsonSchema {
  return JSON.parse(fs.readFileSync(path.join(schemasDir, file), 'utf8')) as JsonSchema;
}

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every subschema of a document, with a JSON pointer to it. */
function* subschemas(node: unknown, at = ''): Generator<[string, Node]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* subschemas(item, `${at}/${i}`);
    return;
  }
  if (!isNode(node)) return;
  yield [at, node];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'enum' || key === 'const' || key === 'default' || key === 'examples') continue;
    yield* subschemas(value, `${at}/${key}`);
  }
}

function runGenTypes(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [genTypes, ...args], { cwd: packageRoot, encoding: 'utf8' });
}

describe('schemas', () => {
  it('has a SchemaName for every schema file and a file for every SchemaName', () => {
    const fileNames = schemaFiles()
      .filter((f) => f !== COMMON_SCHEMA_FILE)
      .map((f) => f.slice(0, -SUFFIX.length))
      .sort();
    expect(fileNames).to.deep.equal([...schemaNames].sort());
    expect(schemaFiles()).to.include(COMMON_SCHEMA_FILE);
  });

  it('declares draft 2020-12, an $id from its file name, a PascalCase title and a description', () => {
    for (const file of schemaFiles()) {
      const schema = readSchema(file);
      expect(schema.$schema, file).to.equal('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id, file).to.equal(`${SCHEMA_BASE_URI}${file}`);
      expect(schema.title, file).to.match(/^[A-Z][A-Za-z0-9]*$/);
      expect(schema.description, file).to.be.a('string').and.not.equal('');
    }
  });

  it('describes every property and says whether every object accepts extra properties', () => {
    const problems: string[] = [];
    for (const file of schemaFiles()) {
      for (const [at, node] of subschemas(readSchema(file))) {
        // A discriminated union says it in each branch.
        const states = 'additionalProperties' in node || 'discriminator' in node;
        if (node.type === 'object' && !states) problems.push(`${file}#${at}: no additionalProperties`);
        if (!isNode(node.properties)) continue;
        for (const [name, property] of Object.entries(node.properties)) {
          const pureRef = isNode(property) && Object.keys(property).join() === '$ref';
          const described = isNode(property) && typeof property.description === 'string';
          if (property !== true && !pureRef && !described) problems.push(`${file}#${at}/properties/${name}: no description`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('compiles every schema in strict mode, and each rejects an empty object', () => {
    const validator = new Validator();
    for (const name of validator.names()) {
      const result = validator.check(name, {});
      expect(result.ok, name).to.equal(false);
      if (!result.ok) expect(result.error.details, name).to.not.be.empty;
    }
  });

  it('gives the schema document itself, frozen, for API descriptions', () => {
    const schema = getValidator().schema('device');
    expect(schema.$id).to.equal(`${SCHEMA_BASE_URI}device.schema.json`);
    expect(schema.title).to.equal('Device');
    expect(Object.isFrozen(schema.properties)).to.equal(true);
  });

  it('shares one validator per process', () => {
    expect(getValidator()).to.equal(getValidator());
  });

  it('refuses a schema name it does not know, listing the known ones', () => {
    expect(() => getValidator().validate('gadget' as SchemaName, {})).to.throw(/unknown schema "gadget"; known schemas: user, device/);
  });

  it('fails at construction when a named schema file is missing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    try {
      for (const file of schemaFiles().filter((f) => f !== 'device.schema.json')) {
        fs.copyFileSync(path.join(schemasDir, file), path.join(dir, file));
      }
      expect(() => new Validator(dir)).to.throw(/schemas missing from .*: device\.schema\.json/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('types and schemas agree', () => {
  it('server/types/schemas.ts is exactly what scripts/gen-types.mjs generates', () => {
    const result = runGenTypes('--check');
    expect(result.stderr).to.equal('');
    expect(result.status).to.equal(0);
    expect(result.stdout).to.include('up to date');
  });

  it('gen-types --check fails with the command to run when the types are stale', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-types-'));
    try {
      const stale = path.join(dir, 'schemas.ts');
      fs.writeFileSync(stale, fs.readFileSync(typesFile, 'utf8').replace('export interface Device {', 'export interface Device {\n  colour?: string;'));
      const result = runGenTypes('--check', `--out=${stale}`);
      expect(result.status).to.equal(1);
      expect(result.stderr).to.match(/is out of date with schemas\/ \(first difference at line \d+\)/);
      expect(result.stderr).to.include('npm run gen:types');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts every typed example', () => {
    const validator = getValidator();
    for (const name of schemaNames) {
      const values: unknown[] = allExamples[name];
      expect(values, name).to.not.be.empty;
      for (const value of values) {
        const result = validator.check(name, value);
        expect(result.ok ? [] : result.error.details, `${name}: ${JSON.stringify(value)}`).to.deep.equal([]);
      }
    }
  });

  it('returns the validated value typed by its schema', () => {
    const device = getValidator().validate('device', JSON.parse(JSON.stringify(allExamples.device[0])));
    // Compiles only because validate('device', ...) returns a Device.
    const status: 'connected' | 'disconnected' | 'idle' | 'shutdown' | 'unknown' = device.status;
    expect(status).to.equal('connected');
  });
});
