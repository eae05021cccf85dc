import { addressRange, AddressPolicy } from './public-address';

const closed = AddressPolicy.compile({ allowPrivate: false, allowedCidrs: [] });

describe('addressRange and the default policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['169.254.0.1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['febf::1', 'linkLocal'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
    ['::7f00:1', 'nonGlobal'],
  ])('refuses %s (%s)', (address, range) => {
    expect(addressRange(address)).toBe(range);
    expect(closed.check(address)).toEqual({ ok: false, range });
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:a9fe:a9fe', 'linkLocal'],
    ['::ffff:0.0.0.0', 'unspecified'],
  ])('reads IPv4-mapped IPv6 %s as the IPv4 address it carries (%s)', (address, range) => {
    expect(addressRange(address)).toBe(range);
    expect(closed.check(address).ok).toBe(false);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '::ffff:8.8.8.8',
    '2606:4700:4700::1111',
  ])('allows the public address %s', (address) => {
    expect(addressRange(address)).toBe('unicast');
    expect(closed.check(address)).toEqual({ ok: true });
  });

  it('does not parse names or IPv4 shorthands: those are for DNS to resolve', () => {
    for (const name of [
      'localhost',
      '2130706433',
      '0x7f000001',
      '0177.0.0.1',
      '127.1',
      'example.com',
      '',
    ])
      expect(addressRange(name)).toBeUndefined();
    expect(closed.check('2130706433')).toEqual({ ok: false, range: 'notAnAddress' });
  });
});

describe('AddressPolicy settings', () => {
  it('opens every private range with allowPrivate, but never unspecified, broadcast or multicast', () => {
    const open = AddressPolicy.compile({ allowPrivate: true, allowedCidrs: [] });
    for (const a of [
      '127.0.0.1',
      '::1',
      '10.0.0.1',
      '169.254.169.254',
      'fd00::1',
      '::ffff:127.0.0.1',
    ])
      expect(open.check(a)).toEqual({ ok: true });
    for (const a of ['0.0.0.0', '::', '255.255.255.255', '224.0.0.1', 'ff02::1', '::ffff:0.0.0.0'])
      expect(open.check(a).ok).toBe(false);
  });

  it('opens only the listed CIDRs, IPv4-mapped forms included', () => {
    const policy = AddressPolicy.compile({
      allowPrivate: false,
      allowedCidrs: ['10.20.0.0/16', 'fd00:1::/32'],
    });
    expect(policy.check('10.20.3.4')).toEqual({ ok: true });
    expect(policy.check('::ffff:10.20.3.4')).toEqual({ ok: true });
    expect(policy.check('fd00:1::5')).toEqual({ ok: true });
    expect(policy.check('10.21.0.1')).toEqual({ ok: false, range: 'private' });
    expect(policy.check('127.0.0.1')).toEqual({ ok: false, range: 'loopback' });
    expect(policy.check('8.8.8.8')).toEqual({ ok: true });
  });

  it('never opens multicast through a CIDR', () => {
    const policy = AddressPolicy.compile({ allowPrivate: false, allowedCidrs: ['224.0.0.0/4'] });
    expect(policy.check('224.0.0.1').ok).toBe(false);
  });
});
