import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The package root (the folder holding package.json and schemas/), found by
 * walking up from this file so it is right both from the TypeScript sources
 * and from the compiled files under dist/.
 */
function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === '@yoto-smart-stream/node-red-yoto') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package root not found above ${start}`);
    dir = parent;
  }
}

export const packageRoot = findPackageRoot(__dirname);
export const schemasDir = path.join(packageRoot, 'schemas');
export const panelDistDir = path.join(packageRoot, 'dist', 'panel');
export const flowsDir = path.join(packageRoot, 'flows');

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
export const assetsDir = path.join(packageRoot, 'assets');
