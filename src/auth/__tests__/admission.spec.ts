import { clientAddress } from '../admission';

describe('clientAddress', () => {
  it('is the peer address unless proxies are trusted', () => {
    expect(clientAddress('203.0.113.7', '198.51.100.1', 0)).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7', undefined, 0)).toBe('203.0.113.7');
  });

  it('reads X-Forwarded-For from the right, one entry per trusted proxy, so entries the client forged on the left do not count', () => {
    expect(clientAddress('10.0.0.1', 'forged, 198.51.100.1', 1)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.1', ['forged, 198.51.100.1', '10.0.0.2'], 2)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.1', '198.51.100.1', 3)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.1', undefined, 1)).toBe('10.0.0.1');
  });

  it('counts IPv6 per /64', () => {
    expect(clientAddress('2001:db8:0:1:aaaa::1', undefined, 0)).toBe('2001:db8:0:1::/64');
    expect(clientAddress('2001:0DB8:0000:0001:ffff:ffff:ffff:ffff', undefined, 0)).toBe('2001:db8:0:1::/64');
    expect(clientAddress('2001:db8::1', undefined, 0)).toBe('2001:db8:0:0::/64');
    expect(clientAddress('::1', undefined, 0)).toBe('0:0:0:0::/64');
  });
});
