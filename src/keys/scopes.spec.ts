import { hasAnyScope, isScope } from './scopes';

describe('scopes', () => {
  it('accepts only known scope names', () => {
    expect(isScope('vectors:read')).toBe(true);
    expect(isScope('vectors:*')).toBe(false);
    expect(isScope(42)).toBe(false);
  });

  it('lets tenant:admin do everything and others only what they hold', () => {
    expect(hasAnyScope(['tenant:admin'], ['vectors:write'])).toBe(true);
    expect(hasAnyScope(['vectors:read'], ['vectors:write'])).toBe(false);
    expect(hasAnyScope(['vectors:read'], ['vectors:write', 'vectors:read'])).toBe(true);
    expect(hasAnyScope([], ['vectors:read'])).toBe(false);
  });
});
