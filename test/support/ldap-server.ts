import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';
import { eventually } from './harness';

const run = promisify(execFile);

export const BASE_DN = 'dc=corp,dc=example';
export const PEOPLE = `ou=people,${BASE_DN}`;
export const GROUPS = `ou=groups,${BASE_DN}`;
export const SERVICE_DN = `cn=quiver-svc,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'service-account-secret-1';
const ROOT_DN = `cn=admin,${BASE_DN}`;
const ROOT_PASSWORD = 'root-secret-1';

/** The people of the fixture directory; each password is `<uid>-pw-1`. */
export const PEOPLE_DNS = {
  alice: `uid=alice,${PEOPLE}`,
  bob: `uid=bob,${PEOPLE}`,
  olga: `cn=Olga (Ops)*,${PEOPLE}`,
  dave: `uid=dave,${PEOPLE}`,
  lena: `uid=lena,${PEOPLE}`,
  twinA: `uid=twin,${PEOPLE}`,
  twinB: `uid=twin,ou=contractors,${PEOPLE}`,
} as const;

export function passwordOf(uid: string): string {
  return `${uid}-pw-1`;
}

/**
 * Active Directory's user attributes under their AD OIDs (sAMAccountName, userPrincipalName,
 * userAccountControl) on an auxiliary class, so an inetOrgPerson entry can carry them. OpenLDAP's
 * msuser.schema has them too, but hangs them on AD's whole object model (objectGUID and
 * instanceType required): more than a test needs.
 */
const AD_SCHEMA = `
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'quiverTestAdUser' SUP top AUXILIARY
  MAY ( sAMAccountName $ userPrincipalName $ userAccountControl ) )
`;

function person(dn: string, uid: string, cn: string, extra: string[] = []): string {
  return [
    `dn: ${dn}`,
    'objectClass: inetOrgPerson',
    'objectClass: quiverTestAdUser',
    `uid: ${uid}`,
    `cn: ${cn}`,
    `sn: ${cn.split(' ').pop()}`,
    `mail: ${uid}@corp.example`,
    `sAMAccountName: ${uid}`,
    `userPrincipalName: ${uid}@corp.example`,
    `userPassword: ${passwordOf(uid)}`,
    ...extra,
  ].join('\n');
}

function group(cn: string, members: string[]): string {
  return [
    `dn: cn=${cn},${GROUPS}`,
    'objectClass: groupOfNames',
    `cn: ${cn}`,
    ...members.map((m) => `member: ${m}`),
  ].join('\n');
}

const FIXTURES = [
  `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Corp\ndc: corp`,
  `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people`,
  `dn: ou=contractors,${PEOPLE}\nobjectClass: organizationalUnit\nou: contractors`,
  `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups`,
  `dn: ou=services,${BASE_DN}\nobjectClass: organizationalUnit\nou: services`,
  [
    `dn: ${SERVICE_DN}`,
    'objectClass: organizationalRole',
    'objectClass: simpleSecurityObject',
    'cn: quiver-svc',
    `userPassword: ${SERVICE_PASSWORD}`,
  ].join('\n'),
  person(PEOPLE_DNS.alice, 'alice', 'Alice Archer', ['userAccountControl: 512']),
  person(PEOPLE_DNS.bob, 'bob', 'Bob Baker'),
  // A DN with filter syntax in it: a group search that does not escape {{dn}} breaks on it.
  person(PEOPLE_DNS.olga, 'olga', 'Olga (Ops)*'),
  // Active Directory's way: ACCOUNTDISABLE (0x2) in userAccountControl (512 + 2).
  person(PEOPLE_DNS.dave, 'dave', 'Dave Disabled', ['userAccountControl: 514']),
  // OpenLDAP ppolicy's way: locked by an administrator.
  person(PEOPLE_DNS.lena, 'lena', 'Lena Locked', ['pwdAccountLockedTime: 000001010000Z']),
  person(PEOPLE_DNS.twinA, 'twin', 'Twin One'),
  person(PEOPLE_DNS.twinB, 'twin', 'Twin Two'),
  group('quiver-admins', [PEOPLE_DNS.alice]),
  group('engineers', [PEOPLE_DNS.alice, PEOPLE_DNS.bob, PEOPLE_DNS.dave, PEOPLE_DNS.lena]),
  group('ops', [PEOPLE_DNS.olga]),
  group('everyone', Object.values(PEOPLE_DNS)),
].join('\n\n');

/** One line of slapd's `stats` log about a bind or a search. */
export interface LoggedOp {
  conn: string;
  kind: 'BIND' | 'SRCH';
  /** BIND: the DN; SRCH: the base. */
  dn: string;
  /** SRCH: the filter as slapd read it. */
  filter?: string;
  /** BIND: the connection's TLS strength (ssf) when the bind came; 0: clear text. */
  ssf?: number;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(port, '127.0.0.1');
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * A real OpenLDAP slapd of a test's own (Debian's package, installed by scripts/provision.sh):
 * slapd.conf in a temp dir, mdb backend, memberof overlay (memberOf filled as groups change), the
 * ppolicy overlay for pwdAccountLockedTime, ldap:// (StartTLS offered) and ldaps:// on spare
 * loopback ports with a certificate from a CA made at setup. Unauthenticated binds (a DN with an
 * empty password) are allowed on purpose: if the app ever sent one as a login, the test would see
 * it succeed. Fixtures are loaded with ldapadd so memberOf is filled.
 */
export class TestLdapServer {
  private child: ChildProcess | undefined;
  private logFd: number | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly tlsPort: number,
  ) {}

  /** `ldap://127.0.0.1:<port>` (plain, StartTLS offered). */
  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  /** `ldaps://127.0.0.1:<port>`. */
  get ldapsUrl(): string {
    return `ldaps://127.0.0.1:${this.tlsPort}`;
  }

  /** The CA that signed the server's certificate (PEM). */
  get caPem(): string {
    return readFileSync(join(this.dir, 'ca.pem'), 'utf8');
  }

  /** Another CA, which signed nothing this server shows (PEM). */
  get otherCaPem(): string {
    return readFileSync(join(this.dir, 'other-ca.pem'), 'utf8');
  }

  static async start(): Promise<TestLdapServer> {
    const slapd = ['/usr/sbin/slapd', '/usr/local/sbin/slapd'].find((p) => existsSync(p));
    if (!slapd) throw new Error('slapd is not installed: run scripts/provision.sh');
    const dir = await mkdtemp(join(tmpdir(), 'quiver-slapd-'));
    const server = new TestLdapServer(dir, await freePort(), await freePort());
    try {
      await server.makeCertificates();
      server.writeConfig();
      await server.launch(slapd);
      await server.ldif('ldapadd', FIXTURES);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async makeCertificates(): Promise<void> {
    const d = this.dir;
    const ossl = (...args: string[]) => run('openssl', args, { cwd: d });
    for (const ca of ['ca', 'other-ca']) {
      await ossl(
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=Quiver test ${ca}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
      ); // prettier-ignore
    }
    await ossl(
      'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost',
    ); // prettier-ignore
    writeFileSync(
      join(d, 'server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    await ossl(
      'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
      '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext',
    ); // prettier-ignore
  }

  private writeConfig(): void {
    const d = this.dir;
    writeFileSync(join(d, 'ad.schema'), AD_SCHEMA);
    writeFileSync(
      join(d, 'slapd.conf'),
      [
        'include /etc/ldap/schema/core.schema',
        'include /etc/ldap/schema/cosine.schema',
        'include /etc/ldap/schema/inetorgperson.schema',
        `include ${d}/ad.schema`,
        'modulepath /usr/lib/ldap',
        'moduleload back_mdb',
        'moduleload memberof',
        'moduleload ppolicy',
        `pidfile ${d}/slapd.pid`,
        `argsfile ${d}/slapd.args`,
        `TLSCACertificateFile ${d}/ca.pem`,
        `TLSCertificateFile ${d}/server.pem`,
        `TLSCertificateKeyFile ${d}/server.key`,
        'allow bind_anon_dn',
        'database mdb',
        `suffix "${BASE_DN}"`,
        `rootdn "${ROOT_DN}"`,
        `rootpw ${ROOT_PASSWORD}`,
        `directory ${d}/db`,
        'overlay memberof',
        'overlay ppolicy',
        'access to attrs=userPassword by self write by anonymous auth by * none',
        'access to * by * read',
        '',
      ].join('\n'),
    );
  }

  private async launch(slapd: string): Promise<void> {
    mkdirSync(join(this.dir, 'db'));
    this.logFd = openSync(join(this.dir, 'slapd.log'), 'a');
    this.child = spawn(
      slapd,
      ['-f', join(this.dir, 'slapd.conf'), '-h', `${this.url}/ ${this.ldapsUrl}/`, '-d', 'stats'],
      { stdio: ['ignore', this.logFd, this.logFd] },
    );
    const exited = new Promise<never>((_, reject) =>
      this.child!.once('exit', (code) =>
        reject(new Error(`slapd exited (${code}): ${this.log().slice(-2000)}`)),
      ),
    );
    await Promise.race([
      eventually(
        async () => (await accepts(this.port)) && (await accepts(this.tlsPort)),
        (up) => up,
        10_000,
      ),
      exited,
    ]);
  }

  /** Runs ldapadd / ldapmodify as the directory's root, over the plain port. */
  async ldif(tool: 'ldapadd' | 'ldapmodify', text: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        tool,
        ['-x', '-H', this.url, '-D', ROOT_DN, '-w', ROOT_PASSWORD],
        (err, _stdout, stderr) =>
          err ? reject(new Error(`${tool}: ${stderr || err.message}`)) : resolve(),
      );
      child.stdin!.end(text);
    });
  }

  /** Adds `member` to a group, or removes it. memberOf follows. */
  async setMembership(groupCn: string, memberDn: string, present: boolean): Promise<void> {
    await this.ldif(
      'ldapmodify',
      `dn: cn=${groupCn},${GROUPS}\nchangetype: modify\n${present ? 'add' : 'delete'}: member\nmember: ${memberDn}\n`,
    );
  }

  /** slapd's log so far. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'slapd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Every bind and search slapd has logged, in order (the fixture loading's root binds included). */
  operations(): LoggedOp[] {
    const ops: LoggedOp[] = [];
    const ssfByConn = new Map<string, number>();
    for (const line of this.log().split('\n')) {
      const tls = /conn=(\d+) fd=\d+ TLS established tls_ssf=\d+ ssf=(\d+)/.exec(line);
      if (tls) {
        ssfByConn.set(tls[1], Number(tls[2]));
        continue;
      }
      const bind = /conn=(\d+) op=\d+ BIND dn="([^"]*)" method=128/.exec(line);
      if (bind) {
        ops.push({ conn: bind[1], kind: 'BIND', dn: bind[2], ssf: ssfByConn.get(bind[1]) ?? 0 });
        continue;
      }
      const srch = /conn=(\d+) op=\d+ SRCH base="([^"]*)" scope=\d deref=\d filter="(.*)"$/.exec(
        line,
      );
      if (srch) ops.push({ conn: srch[1], kind: 'SRCH', dn: srch[2], filter: srch[3] });
    }
    return ops;
  }

  /** A marker: operations() after it are those that came later. */
  mark(): number {
    return this.operations().length;
  }

  since(mark: number): LoggedOp[] {
    return this.operations().slice(mark);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.logFd = undefined;
    await rm(this.dir, { recursive: true, force: true });
  }
}
