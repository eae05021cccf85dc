import { parseTenantSettings } from './tenant-settings';

describe('tenant settings', () => {
  it('accepts a valid document and an empty one', () => {
    expect(parseTenantSettings({}).ok).toBe(true);
    expect(parseTenantSettings({ search: { efSearch: 200 }, labels: { team: 'search' } }).ok).toBe(
      true,
    );
  });

  it('refuses unknown sections, unknown fields and bad values with their paths', () => {
    const unknown = parseTenantSettings({ serch: {} });
    expect(unknown.ok).toBe(false);
    const badField = parseTenantSettings({ search: { ef: 1 } });
    expect(badField.ok).toBe(false);
    const bad = parseTenantSettings({ search: { efSearch: 0 } });
    expect(bad).toEqual({
      ok: false,
      errors: [expect.objectContaining({ path: 'search.efSearch' })],
    });
    expect(parseTenantSettings([]).ok).toBe(false);
    expect(parseTenantSettings({ labels: { 'Bad Name': 'x' } }).ok).toBe(false);
  });
});
