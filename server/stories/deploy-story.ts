import { randomUUID } from 'node:crypto';
import type { RequestUser } from '../http/request-user';
import type { Store } from '../store';
import type { Story } from './model';

/** What deploying a script does (server/scripts): save its card on the cloud and play it. */
export type DeployScript = (scriptId: string, deviceId: string, user: RequestUser) => Promise<unknown>;

/**
 * Deploys a story the way every script is deployed: through its `cyoa`
 * script (created the first time), so the card, its signed stream URLs and
 * its card id live in one place and a redeploy updates the same card.
 */
export function storyDeployer(store: Store, deployScript: DeployScript): (story: Story, deviceId: string, user: RequestUser) => Promise<unknown> {
  return async (story, deviceId, user) => {
    const existing = store.scripts.list((script) => script.type === 'cyoa' && script.definition.storyId === story.id && script.userId === story.userId)[0];
    let scriptId = existing?.id;
    if (!scriptId) {
      const at = new Date().toISOString();
      const created = await store.scripts.insert({
        id: randomUUID(),
        userId: story.userId,
        name: story.title.slice(0, 100),
        type: 'cyoa',
        definition: { storyId: story.id },
        createdAt: at,
        updatedAt: at,
      });
      scriptId = created.id;
    }
    return deployScript(scriptId, deviceId, user);
  };
}
