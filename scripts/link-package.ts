import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../server/paths';

const PACKAGE_NAME = '@yoto-smart-stream/node-red-yoto';

/**
 * Makes Node-RED find this package in a user directory, as `npm install <checkout>`
 * would: a link to the checkout under node_modules, and a package.json naming it
 * (written once; a user's own is kept). Used by `npm start` and by the tests that
 * embed the real Node-RED editor.
 */
export function linkPackage(userDir: string): void {
  const scopeDir = path.join(userDir, 'node_modules', '@yoto-smart-stream');
  const link = path.join(scopeDir, 'node-red-yoto');
  fs.mkdirSync(scopeDir, { recursive: true });
  let current: string | undefined;
  try {
    current = fs.readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== packageRoot) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(packageRoot, link, 'dir');
  }
  const projectPackage = path.join(userDir, 'package.json');
  if (!fs.existsSync(projectPackage)) {
    fs.writeFileSync(
      projectPackage,
      JSON.stringify({ name: 'yoto-smart-stream-demo', private: true, dependencies: { [PACKAGE_NAME]: `file:${packageRoot}` } }, null, 2) + '\n',
    );
  }
}
