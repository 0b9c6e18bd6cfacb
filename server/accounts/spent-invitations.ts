import * as path from 'node:path';
import { readFileIfExists, writeJsonAtomic, WriteQueue } from '../files/atomic-file';

/**
 * The invitations already used to create an account, by their token id (`jti`), each kept until
 * the invitation would have expired anyway: `<dataDir>/secrets/spent-invitations.json` (0600).
 * An invitation is good for one account, also after that account is deleted.
 */
export class SpentInvitations {
  private readonly writes = new WriteQueue();

  private constructor(
    private readonly file: string,
    /** Token id → expiry (unix seconds). */
    private readonly spent: Map<string, number>,
  ) {}

  static async open(dataDir: string): Promise<SpentInvitations> {
    const file = path.join(dataDir, 'secrets', 'spent-invitations.json');
    const text = await readFileIfExists(file);
    const spent = new Map<string, number>();
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`${file} is not valid JSON; fix or delete it (deleting it lets unexpired invitations be used again)`);
      }
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        for (const [id, expiresAt] of Object.entries(parsed)) if (typeof expiresAt === 'number') spent.set(id, expiresAt);
      }
    }
    return new SpentInvitations(file, spent);
  }

  has(id: string): boolean {
    return this.spent.has(id);
  }

  /** Records `id` as used (and forgets invitations expired before `nowSeconds`); resolves once on disk. */
  spend(id: string, expiresAt: number, nowSeconds: number): Promise<void> {
    for (const [known, expiry] of this.spent) if (expiry < nowSeconds) this.spent.delete(known);
    this.spent.set(id, expiresAt);
    const snapshot = Object.fromEntries(this.spent);
    return this.writes.run(() => writeJsonAtomic(this.file, snapshot));
  }

  idle(): Promise<void> {
    return this.writes.idle();
  }
}
