import { clientAddress, IpAllowlist, parseEntry } from './ip-allowlist';

describe('IP allowlist', () => {
  it('matches IPv4 and IPv6 addresses and CIDRs', () => {
    const list = IpAllowlist.compile(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1']);
    expect(list.allows('10.200.3.4')).toBe(true);
    expect(list.allows('192.168.1.7')).toBe(true);
    expect(list.allows('192.168.1.8')).toBe(false);
    expect(list.allows('2001:db8:ffff::1')).toBe(true);
    expect(list.allows('2001:db9::1')).toBe(false);
    expect(list.allows('::1')).toBe(true);
    expect(list.allows('11.0.0.1')).toBe(false);
  });

  it('answers each address on its own when asked again, past its memory of answers too', () => {
    const list = IpAllowlist.compile(['10.0.0.0/8']);
    for (let round = 0; round < 3; round++) {
      expect(list.allows('10.0.0.1')).toBe(true);
      expect(list.allows('11.0.0.1')).toBe(false);
      expect(list.allows('not an address')).toBe(false);
      expect(list.allows('')).toBe(false);
      expect(list.allows(' 10.0.0.2 ')).toBe(true);
    }
    // More distinct addresses than it remembers: the answers stay right after it forgets.
    for (let i = 0; i < 3000; i++) {
      const a = `${i % 2 === 0 ? 10 : 12}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      expect(list.allows(a)).toBe(i % 2 === 0);
    }
    expect(list.allows('11.0.0.1')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address it carries, both ways', () => {
    expect(IpAllowlist.compile(['10.0.0.0/8']).allows('::ffff:10.1.2.3')).toBe(true);
    expect(IpAllowlist.compile(['::ffff:10.0.0.0/104']).allows('10.1.2.3')).toBe(true);
    expect(IpAllowlist.compile(['::ffff:10.0.0.0/104']).allows('11.1.2.3')).toBe(false);
    expect(IpAllowlist.compile(['10.0.0.0/8']).allows('::ffff:11.1.2.3')).toBe(false);
  });

  it('refuses /0 entries and invalid entries when saved', () => {
    expect(parseEntry('0.0.0.0/0')).toEqual({ ok: false, problem: 'allows_everything' });
    expect(parseEntry('::/0')).toEqual({ ok: false, problem: 'allows_everything' });
    expect(parseEntry('::ffff:0.0.0.0/96')).toEqual({ ok: false, problem: 'allows_everything' });
    for (const bad of [
      '10.0.0.0/33',
      '300.1.1.1',
      'example.com',
      '10.0.0.0/',
      '',
      '1.2.3.4/8/8',
      '2001:db8::/129',
    ]) {
      expect(parseEntry(bad)).toEqual({ ok: false, problem: 'invalid' });
    }
  });

  it('never lets garbage or an empty list allow anything', () => {
    expect(IpAllowlist.compile([]).allows('10.0.0.1')).toBe(false);
    expect(IpAllowlist.compile(['10.0.0.0/8']).allows('not-an-ip')).toBe(false);
    expect(IpAllowlist.compile(['10.0.0.0/8']).allows('')).toBe(false);
  });
});

describe('clientAddress', () => {
  const proxies = IpAllowlist.compile(['10.0.0.0/8']);

  it('uses the socket peer when there is no trusted proxy', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', undefined)).toBe('203.0.113.9');
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', () => {
    expect(clientAddress('203.0.113.9', '10.1.1.1, 192.168.0.1', proxies)).toBe('203.0.113.9');
  });

  it('walks X-Forwarded-For right to left through trusted proxies', () => {
    expect(clientAddress('10.0.0.2', '198.51.100.7, 10.0.0.5', proxies)).toBe('198.51.100.7');
    // The left-most entry is whatever the client claimed: only the first untrusted hop counts.
    expect(clientAddress('10.0.0.2', '1.1.1.1, 198.51.100.7, 10.0.0.5', proxies)).toBe(
      '198.51.100.7',
    );
    expect(clientAddress('10.0.0.2', ['1.1.1.1, 198.51.100.7', '10.0.0.5'], proxies)).toBe(
      '198.51.100.7',
    );
  });

  it('stops at a malformed hop and normalises IPv4-mapped addresses', () => {
    expect(clientAddress('10.0.0.2', 'evil, 10.0.0.9', proxies)).toBe('10.0.0.9');
    expect(clientAddress('::ffff:203.0.113.9', undefined, proxies)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:10.0.0.2', '198.51.100.7', proxies)).toBe('198.51.100.7');
  });
});
