// Azure Key Vault's service limits, per vault (learn.microsoft.com/azure/
// key-vault/general/service-limits, software-protected keys, transactions
// per 10 seconds): which class each RPC falls in, and what it costs there.
// The one place a call is classified; src/app/vault-throttle.ts enforces it.
//
// - secrets: "Secrets, managed storage account keys, and vault
//   transactions", 4,000.
// - keyCreate: key CREATE, 20 for every key type (ImportKey and RotateKey
//   make a key version too).
// - keys: every other key transaction, weighted: "The throttling thresholds
//   are weighted, and enforcement is on their sum". Each type's limit says
//   how many of its calls fill the window alone, so a call costs
//   budget / limit(type), the budget being the highest limit: an RSA-4096
//   call (500) costs 8 times an RSA-2048 one (4,000). A call whose key is
//   not known (a list, a restore, a name that does not exist) costs 1.
// Calls that name no vault (ListVaults, GetRandomBytes, Cluster) have no
// per-vault limit: admission control alone bounds them.

export type ThrottleClass = 'secrets' | 'keyCreate' | 'keys';

export interface ThrottleLimits {
  /** The window the limits are counted over. */
  readonly windowMs: number;
  readonly secrets: number;
  readonly keyCreate: number;
  /** By key type: RSA-<bits> or EC-<curve>. */
  readonly keys: Readonly<Record<string, number>>;
}

export const AZURE_THROTTLE_LIMITS: ThrottleLimits = Object.freeze({
  windowMs: 10_000,
  secrets: 4000,
  keyCreate: 20,
  keys: Object.freeze({ 'RSA-2048': 4000, 'RSA-3072': 1000, 'RSA-4096': 500, 'EC-P-256': 4000, 'EC-P-384': 4000, 'EC-P-521': 4000, 'EC-P-256K': 4000 }),
});

const V = '/keyraft.v1.';
const KEY_CREATE = ['CreateKey', 'ImportKey', 'RotateKey'];
const KEY_OTHER = [
  'GetKey', 'ListKeys', 'ListKeyVersions', 'UpdateKeyProperties', 'DeleteKey', 'GetDeletedKey', 'ListDeletedKeys', 'RecoverDeletedKey',
  'PurgeDeletedKey', 'BackupKey', 'RestoreKey', 'Encrypt', 'Decrypt', 'WrapKey', 'UnwrapKey', 'Sign', 'Verify',
];
const SECRETS = [
  'SetSecret', 'GetSecret', 'ListSecrets', 'ListSecretVersions', 'UpdateSecretProperties', 'DeleteSecret', 'GetDeletedSecret',
  'ListDeletedSecrets', 'RecoverDeletedSecret', 'PurgeDeletedSecret', 'BackupSecret', 'RestoreSecret',
];

const CLASSES: ReadonlyMap<string, ThrottleClass> = new Map<string, ThrottleClass>([
  ...['CreateVault', 'GetVault', 'DeleteVault'].map((m): [string, ThrottleClass] => [`${V}Vaults/${m}`, 'secrets']),
  ...SECRETS.map((m): [string, ThrottleClass] => [`${V}Secrets/${m}`, 'secrets']),
  ...KEY_CREATE.map((m): [string, ThrottleClass] => [`${V}Keys/${m}`, 'keyCreate']),
  ...KEY_OTHER.map((m): [string, ThrottleClass] => [`${V}Keys/${m}`, 'keys']),
]);

/** The class of the RPC at this path; undefined when it has no per-vault limit. */
export const throttleClassOf = (path: string): ThrottleClass | undefined => CLASSES.get(path);

/** The name a key type goes by in ThrottleLimits.keys. */
export function keyTypeName(k: { kty: string; keySize: number; curve: string }): string {
  return k.kty.startsWith('EC') ? `EC-${k.curve}` : `${k.kty.replace(/-HSM$/, '')}-${k.keySize}`;
}

/** What a call of `cls` costs, and the window's budget it is taken from. */
export function costOf(limits: ThrottleLimits, cls: ThrottleClass, keyType: string | undefined): { budget: number; cost: number } {
  if (cls === 'secrets') return { budget: limits.secrets, cost: 1 };
  if (cls === 'keyCreate') return { budget: limits.keyCreate, cost: 1 };
  const budget = Math.max(...Object.values(limits.keys));
  const limit = keyType !== undefined && Object.hasOwn(limits.keys, keyType) ? limits.keys[keyType] : undefined;
  return { budget, cost: limit === undefined ? 1 : budget / limit };
}
