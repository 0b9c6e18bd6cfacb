import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../server/paths';

/**
 * The Node.js flags `npm start` gives the product (package.json's start script: `node <flags>
 * dist/scripts/start.js`), so the contract suite and the benches run the hub as users run it.
 */
export function startNodeFlags(): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const match = /\bnode((?:\s+--[\w-]+(?:=\S+)?)*)\s+dist\/scripts\/start\.js\b/.exec(manifest.scripts.start);
  if (!match) throw new Error(`package.json's start script does not run dist/scripts/start.js with node: ${manifest.scripts.start}`);
  return match[1]!.trim().split(/\s+/).filter((flag) => flag.length > 0);
}
