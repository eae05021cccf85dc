import { isDowngrade, mayAssign, ROLE_SCOPES, ROLES } from './roles';

describe('roles', () => {
  it('maps every role to permissions; only owner and admin hold tenant:admin', () => {
    for (const role of ROLES) expect(ROLE_SCOPES[role].length).toBeGreaterThan(0);
    const admins = ROLES.filter((r) => ROLE_SCOPES[r].includes('tenant:admin'));
    expect(admins).toEqual(['owner', 'admin']);
    expect(ROLE_SCOPES.viewer).toEqual(['vectors:read']);
    expect(ROLE_SCOPES.auditor).not.toContain('vectors:read');
  });

  it('calls a change a downgrade exactly when a permission is lost', () => {
    expect(isDowngrade('owner', 'admin')).toBe(true);
    expect(isDowngrade('admin', 'owner')).toBe(false);
    expect(isDowngrade('admin', 'developer')).toBe(true);
    expect(isDowngrade('developer', 'viewer')).toBe(true);
    expect(isDowngrade('viewer', 'developer')).toBe(false);
    expect(isDowngrade('viewer', 'auditor')).toBe(true);
    expect(isDowngrade('auditor', 'viewer')).toBe(true);
    expect(isDowngrade('developer', 'admin')).toBe(false);
    for (const r of ROLES) expect(isDowngrade(r, r)).toBe(false);
  });

  it('lets owners assign anything, admins anything but owner, others nothing above them', () => {
    for (const r of ROLES) expect(mayAssign('owner', r)).toBe(true);
    expect(mayAssign('admin', 'owner')).toBe(false);
    expect(mayAssign('admin', 'admin')).toBe(true);
    expect(mayAssign('admin', 'viewer')).toBe(true);
    expect(mayAssign('developer', 'admin')).toBe(false);
    expect(mayAssign('viewer', 'developer')).toBe(false);
    expect(mayAssign('api_key', 'owner')).toBe(true);
  });
});
