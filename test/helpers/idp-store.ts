import type { Adapter, AdapterPayload } from 'oidc-provider';

/** The models whose artifacts belong to a grant and go when it is revoked (as in oidc-provider's MemoryAdapter). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** Called before each lookup by id; may throw an oidc-provider error to fail the request. */
export type BeforeFind = (model: string, id: string) => void;

/**
 * In-memory storage for one test IdP (oidc-provider's own MemoryAdapter is module-global and
 * prints a warning). Nothing is evicted: an expired device code stays findable, so the token
 * endpoint answers `expired_token` as RFC 8628 §3.5 says rather than `invalid_grant`.
 * `beforeFind` is the hook for fault injection: the token endpoint looks a device code up by id
 * on every poll, before it checks or consumes anything.
 */
export function memoryAdapter(beforeFind: BeforeFind): (model: string) => Adapter {
  const store = new Map<string, AdapterPayload>();
  const entries = (model: string): [string, AdapterPayload][] =>
    [...store].filter(([key]) => key.startsWith(`${model}:`));

  return (model) => {
    const key = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload) {
        store.set(key(id), payload);
      },
      async find(id) {
        beforeFind(model, id);
        return store.get(key(id));
      },
      async findByUserCode(userCode) {
        return entries(model).find(([, payload]) => payload.userCode === userCode)?.[1];
      },
      async findByUid(uid) {
        return entries(model).find(([, payload]) => payload.uid === uid)?.[1];
      },
      async consume(id) {
        const payload = store.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        store.delete(key(id));
      },
      async revokeByGrantId(grantId) {
        for (const [stored, payload] of store) {
          const storedModel = stored.slice(0, stored.indexOf(':'));
          if (GRANTABLE.has(storedModel) && payload.grantId === grantId) store.delete(stored);
        }
      },
    };
  };
}
