import { randomBytes, timingSafeEqual } from 'node:crypto';
import { verifyPassword } from '../accounts/passwords';
import { mayUseDevice } from '../devices/ownership';
import type { RequestUser } from '../http/request-user';
import type { Store } from '../store';
import { isYotoAdapterLogin, MAX_FILTERS_PER_SUBSCRIBE } from '../yoto/protocol';
import { BrokerAcl, type BrokerIdentity } from './broker-acl';
import type { EmbeddedBrokerAccess, LoginRefusal, LoginVerdict } from './embedded-broker';

/** A user name and password generated at each start for one of the hub's own clients; never stored. */
export interface BrokerLogin {
  username: string;
  password: string;
}

export function generatedLogin(username: string): BrokerLogin {
  return { username, password: randomBytes(24).toString('base64url') };
}

export interface BrokerAccessOptions {
  store: Pick<Store, 'users' | 'devices'>;
  /** The hub's home-broker client. */
  hub: BrokerLogin;
  /** The virtual players (they publish `device/...` as the Yoto side of the broker). */
  virtualPlayers: BrokerLogin;
  /**
   * Checks the live virtual-cloud token a Yoto-form login (the hub's cloud adapter) carries, as the
   * Yoto cloud's authorizer does: unknown or expired refuses (4), a token without the MQTT scope is not authorized (5).
   */
  authorizeAdapterToken(token: string): LoginVerdict;
  /** `house`: anonymous clients connect, confined to topics outside yoto/, device/, discovery and $SYS. `off`: refused. */
  anonymous: 'house' | 'off';
  topicPrefix?: string;
  discoveryPrefix?: string;
}

/**
 * The embedded broker's users: the hub's own clients (generated logins), the cloud adapter (a live
 * virtual-cloud token), the hub's accounts (email + password; rights follow the account as it is
 * at each message) and, if allowed, anonymous clients of the house. Rules: `BrokerAcl`.
 */
export function embeddedBrokerAccess(options: BrokerAccessOptions): EmbeddedBrokerAccess {
  const { store } = options;
  const currentUser = (userId: string): RequestUser | undefined => {
    const user = store.users.get(userId);
    return user && !user.disabled ? { id: user.id, email: user.email, role: user.role } : undefined;
  };
  const acl = new BrokerAcl({
    topicPrefix: options.topicPrefix ?? 'yoto',
    discoveryPrefix: options.discoveryPrefix ?? 'homeassistant',
    mayUseDevice: (user, deviceId) => mayUseDevice(store.devices, user, deviceId),
    currentUser,
  });
  return {
    acl,
    anonymous: options.anonymous,
    // The Yoto cloud's broker (AWS IoT) takes at most 8 filters per SUBSCRIBE from the adapter: so does this one.
    subscribeLimit: (username) => (isYotoAdapterLogin(username) ? MAX_FILTERS_PER_SUBSCRIBE : undefined),
    async identify(username, password): Promise<BrokerIdentity | LoginRefusal | undefined> {
      if (username === undefined) return options.anonymous === 'house' && password === undefined ? { kind: 'anonymous' } : undefined;
      if (password === undefined) return undefined;
      if (username === options.hub.username) return sameSecret(password, options.hub.password) ? { kind: 'hub' } : undefined;
      if (username === options.virtualPlayers.username) return sameSecret(password, options.virtualPlayers.password) ? { kind: 'adapter' } : undefined;
      if (isYotoAdapterLogin(username)) {
        const verdict = options.authorizeAdapterToken(password);
        return verdict === true ? { kind: 'adapter' } : verdict;
      }
      const user = store.users.list((u) => u.email.toLowerCase() === username.toLowerCase())[0];
      if (!user || user.disabled) return undefined;
      return (await verifyPassword(password, user.passwordHash)) ? { kind: 'user', userId: user.id } : undefined;
    },
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
