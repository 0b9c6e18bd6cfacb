import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '../../server/paths';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Debian's Chromium, headless, driven by playwright-core (no browser is ever downloaded). */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error('chromium is not installed: run "sudo apt-get install chromium" (npm test installs it when run as root)');
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Where tests keep screenshots for people to look at. */
export function artifactPath(name: string): string {
  const dir = path.join(packageRoot, 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
