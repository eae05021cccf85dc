import { lastUsedStatements } from './last-used';

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const K1 = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const K2 = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const K3 = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const at = new Date('2026-11-27T12:00:00.000Z');

describe('lastUsedStatements', () => {
  it('makes one UPDATE per tenant, tenants and keys in a fixed order', () => {
    const work = lastUsedStatements([
      { tenantId: T2, keyId: K3, at },
      { tenantId: T1, keyId: K2, at },
      { tenantId: T1, keyId: K1, at },
    ]);
    expect(work.map((w) => w.tenantId)).toEqual([T1, T2]);
    expect(work[0].sql).toContain(
      `VALUES ('${K1}'::uuid, '2026-11-27T12:00:00.000Z'::timestamptz), ('${K2}'::uuid,`,
    );
    expect(work[1].sql).toContain(`('${K3}'::uuid,`);
  });

  it('drops anything that is not a UUID or a valid time instead of inlining it', () => {
    const work = lastUsedStatements([
      { tenantId: T1, keyId: "x'); DROP TABLE api_keys; --", at },
      { tenantId: 'nope', keyId: K1, at },
      { tenantId: T1, keyId: K2, at: new Date(NaN) },
    ]);
    expect(work).toEqual([]);
  });
});
