/**
 * OAuth scopes of the Yoto API (yoto.dev "API Scopes"; the same list as Home
 * Assistant core's `yoto` integration, plus content and library management
 * for the hub's cards). A client id registered at the Yoto developer
 * dashboard only gets the scopes ticked for it there; asking for more fails
 * with `access_denied`, and a token without a scope gets 403 from the API and
 * a refused connection from the MQTT broker.
 */

/** What each scope opens, and which capability of the hub needs it. */
export const SCOPE_USES: Readonly<Record<string, string>> = {
  offline_access: 'a refresh token, so the hub stays signed in',
  'family:view': 'the family the players belong to',
  'family:devices:view': 'the list of players',
  'family:devices:control': 'live player state over MQTT and every player command',
  'family:devices:manage': 'player settings (volume limits, night light, alarms)',
  'family:library:view': 'the family card library',
  'user:content:view': 'reading cards (titles, chapters, story keys)',
  'user:content:manage': 'creating and updating the hub\'s streaming and story cards, audio uploads',
  'user:icons:manage': 'chapter icons on the hub\'s cards',
};

/** The scopes the hub asks for unless the setting says otherwise: what every capability needs. */
export const DEFAULT_SCOPES: readonly string[] = [
  'offline_access',
  'family:view',
  'family:devices:view',
  'family:devices:control',
  'family:devices:manage',
  'family:library:view',
  'user:content:view',
  'user:content:manage',
  'user:icons:manage',
];

/** Scopes that include others (yoto.dev): holding the key grants the values too. */
export const IMPLIED_SCOPES: Readonly<Record<string, readonly string[]>> = {
  'family:library:manage': ['family:library:view'],
  'user:content:manage': ['user:content:view', 'user:icons:manage'],
  'family:devices:manage': ['family:devices:view'],
};

/** Without these the hub cannot follow players at all: a sign-in lacking one is refused by the hub. */
export const ESSENTIAL_SCOPES: readonly string[] = ['offline_access', 'family:devices:view', 'family:devices:control'];

/** Where the scope list is set, for messages that tell the user what to change. */
export const SCOPES_SETTING = 'the scope list (YOTO_SCOPES, or cloud.scopes in the hub settings)';

const SCOPE_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;

export function isScope(value: string): boolean {
  return SCOPE_PATTERN.test(value);
}

/** Splits a space- or comma-separated scope string; drops duplicates, keeps order. */
export function parseScopes(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const parts = typeof value === 'string' ? value.split(/[\s,]+/) : value;
  return [...new Set(parts.map((part) => part.trim()).filter((part) => part !== ''))];
}

/** Every scope a list grants, with the implied ones. */
export function expandScopes(scopes: Iterable<string>): Set<string> {
  const result = new Set<string>();
  for (const scope of scopes) {
    result.add(scope);
    for (const implied of IMPLIED_SCOPES[scope] ?? []) result.add(implied);
  }
  return result;
}

/** The scopes of `needed` that `granted` does not cover (implied scopes count). */
export function missingScopes(granted: Iterable<string>, needed: Iterable<string>): string[] {
  const have = expandScopes(granted);
  return [...needed].filter((scope) => !have.has(scope));
}

/** A sign-in that cannot work as configured: which scopes are missing, and what to change. */
export class MissingScopeError extends Error {
  readonly code = 'missing_scope';

  constructor(
    readonly missing: readonly string[],
    readonly where: 'setting' | 'grant' | 'app',
  ) {
    super(missingScopeMessage(missing, where));
    this.name = 'MissingScopeError';
  }
}

function missingScopeMessage(missing: readonly string[], where: 'setting' | 'grant' | 'app'): string {
  const list = missing.map((scope) => `${scope} (${SCOPE_USES[scope] ?? 'needed by the hub'})`).join(', ');
  const plural = missing.length > 1 ? 's' : '';
  switch (where) {
    case 'setting':
      return `the Yoto sign-in lacks the scope${plural} ${list}: add ${missing.length > 1 ? 'them' : 'it'} to ${SCOPES_SETTING} and sign in again`;
    case 'grant':
      return `Yoto did not grant the scope${plural} ${list}: tick ${missing.length > 1 ? 'them' : 'it'} for your client id at the Yoto developer dashboard (or remove ${missing.length > 1 ? 'them' : 'it'} from ${SCOPES_SETTING}) and sign in again`;
    case 'app':
      return `Yoto refused the sign-in (access_denied): your client id is not allowed some of the scopes asked for (${missing.join(' ')}). Tick them for the app at the Yoto developer dashboard, or shorten ${SCOPES_SETTING}, then sign in again`;
  }
}
