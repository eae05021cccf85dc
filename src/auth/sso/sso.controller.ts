import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiFoundResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TenantContext } from '@app/common/context/tenant-context';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { Db } from '@app/database/db';
import {
  LimitPerAddress,
  Public,
  RateLimitClass,
  RequireScopes,
} from '@app/gateway/access.decorators';
import { AppConfig } from '@app/config/app-config';
import { RequestOrigin } from '@app/gateway/request-origin';
import { AuthErrorCode, authError } from '../auth.errors';
import { LdapLoginDto } from '../dto/ldap-connection.dto';
import { TokenPairView } from '../dto/session.dto';
import {
  CreateSsoConnectionDto,
  SsoConnectionList,
  SsoConnectionView,
  UpdateSsoConnectionDto,
} from '../dto/sso-connection.dto';
import { LdapLoginService } from '../ldap/ldap-login.service';
import { OidcLoginService } from '../oidc/oidc-login.service';
import { SamlLoginService } from '../saml/saml-login.service';
import { actorOf } from '../users.service';
import { SsoConnectionsService } from './sso-connections.service';
import type { SsoKind } from './sso-kind-registry';
import type { RedirectLogin } from './sso-kinds';
import { SsoLoginService } from './sso-login.service';

const COOKIE = 'quiver_sso';

export class ExchangeCodeDto {
  /** The `code` the login's redirect carried (single use, one minute). */
  @IsString()
  @MaxLength(128)
  code!: string;
}

/** SSO sign-in: the browser side of the flow, and the code exchange for the console backend. */
@ApiTags('auth')
@Public()
@Controller('auth/:tenantSlug')
export class SsoLoginController {
  /** The kinds that sign in through the browser, by kind. */
  private readonly browserLogins: Partial<Record<SsoKind, RedirectLogin>>;
  /** PUBLIC_URL's scheme, when set: what browsers see, whatever proxy sits in between. */
  private readonly publicHttps: boolean | undefined;

  constructor(
    private readonly sso: SsoLoginService,
    private readonly oidc: OidcLoginService,
    private readonly saml: SamlLoginService,
    private readonly ldap: LdapLoginService,
    private readonly origin: RequestOrigin,
    config: AppConfig,
  ) {
    this.browserLogins = { oidc, saml };
    const publicUrl = config.env.PUBLIC_URL;
    this.publicHttps = publicUrl === undefined ? undefined : publicUrl.startsWith('https:');
  }

  @ApiOperation({
    summary:
      'Sign in with a username and password through an LDAP / Active Directory connection (alice, alice@corp.example or CORP\\alice)',
  })
  @ApiOkResponse({ description: 'The session tokens', type: TokenPairView })
  @ApiUnauthorizedResponse({
    description: 'Refused (code ldap_invalid_credentials, whatever the reason)',
    type: ProblemDto,
  })
  @ApiServiceUnavailableResponse({
    description: 'The directory cannot be reached (code ldap_directory_unavailable)',
    type: ProblemDto,
  })
  @LimitPerAddress('AUTH_LOGIN_PER_MINUTE')
  @HttpCode(200)
  @Post(':connectionId/login')
  passwordLogin(
    @Param('tenantSlug') slug: string,
    @Param('connectionId') connectionId: string,
    @Body() dto: LdapLoginDto,
    @Req() req: FastifyRequest,
  ): Promise<TokenPairView> {
    return this.ldap.login(
      slug,
      connectionId,
      dto.username,
      dto.password,
      this.origin.clientAddress(req),
    );
  }

  @ApiOperation({
    summary:
      "Start an SSO login: redirects to the identity provider; ?redirect= must be one of the connection's redirect URIs",
  })
  @ApiFoundResponse({ description: 'To the identity provider' })
  @ApiBadRequestResponse({ description: 'redirect not allowed', type: ProblemDto })
  @LimitPerAddress('AUTH_LOGIN_PER_MINUTE')
  @Get(':connectionId/login')
  async login(
    @Param('tenantSlug') slug: string,
    @Param('connectionId') connectionId: string,
    @Query('redirect') redirect: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { tenant, connection } = await this.sso.resolve(slug, connectionId);
    const flow = this.browserLogins[connection.kind];
    if (!flow) {
      throw authError(
        AuthErrorCode.ConnectionNotFound,
        `A ${connection.kind} connection has no browser sign-in.`,
      );
    }
    this.sso.checkRedirect(connection, redirect);
    const { url, loginId, crossSitePost } = await flow.start(
      tenant,
      connection,
      redirect,
      this.origin.clientAddress(req),
    );
    await reply
      .header(
        'set-cookie',
        loginCookie(slug, connectionId, loginId, 600, this.cookieFlags(req, crossSitePost)),
      )
      .header('cache-control', 'no-store')
      .redirect(url, 302);
  }

  @ApiOperation({
    summary: 'The identity provider returns here; redirects on with a one-time code',
  })
  @ApiFoundResponse({ description: "To the connection's redirect URI, with ?code=" })
  @ApiUnauthorizedResponse({
    description: 'Refused response or no login in progress',
    type: ProblemDto,
  })
  @LimitPerAddress('AUTH_LOGIN_PER_MINUTE')
  @Get(':connectionId/callback')
  async callback(
    @Param('tenantSlug') slug: string,
    @Param('connectionId') connectionId: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const query = (req.raw.url ?? '').split('?')[1] ?? '';
    const target = await this.oidc.callback(
      slug,
      connectionId,
      query,
      readCookie(req.headers.cookie, COOKIE),
      this.origin.clientAddress(req),
    );
    await endLogin(reply, slug, connectionId, target, this.cookieFlags(req, false));
  }

  @ApiOperation({
    summary:
      'SAML Assertion Consumer Service: the identity provider posts its response here; redirects on with a one-time code',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['SAMLResponse'],
      properties: {
        SAMLResponse: {
          type: 'string',
          description: 'The base64 SAML Response (HTTP-POST binding)',
        },
        RelayState: { type: 'string', description: 'As sent with the AuthnRequest' },
      },
    },
  })
  @ApiFoundResponse({ description: "To the connection's redirect URI, with ?code=" })
  @ApiUnauthorizedResponse({
    description: 'Refused response (signature, issuer, audience, time, replay, ...)',
    type: ProblemDto,
  })
  @LimitPerAddress('AUTH_LOGIN_PER_MINUTE')
  @Post(':connectionId/callback')
  async samlCallback(
    @Param('tenantSlug') slug: string,
    @Param('connectionId') connectionId: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const target = await this.saml.acs(
      slug,
      connectionId,
      req.body,
      readCookie(req.headers.cookie, COOKIE),
      this.origin.clientAddress(req),
    );
    await endLogin(reply, slug, connectionId, target, this.cookieFlags(req, true));
  }

  @ApiOperation({
    summary:
      "A SAML connection's service provider metadata (entity ID, ACS URL), for the identity provider",
  })
  @ApiOkResponse({
    description: 'SAML 2.0 SP metadata (EntityDescriptor)',
    content: { 'application/samlmetadata+xml': { schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ description: 'No such SAML connection', type: ProblemDto })
  @LimitPerAddress('AUTH_LOGIN_PER_MINUTE')
  @Get(':connectionId/metadata')
  async samlMetadata(
    @Param('tenantSlug') slug: string,
    @Param('connectionId') connectionId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const xml = await this.saml.metadata(slug, connectionId);
    await reply.header('content-type', 'application/samlmetadata+xml; charset=utf-8').send(xml);
  }

  @ApiOperation({ summary: 'Trade the one-time code of a finished SSO login for session tokens' })
  @ApiUnauthorizedResponse({ description: 'Unknown, expired or used code', type: ProblemDto })
  @LimitPerAddress('AUTH_REFRESH_PER_MINUTE')
  @HttpCode(200)
  @Post('token/exchange')
  exchange(
    @Param('tenantSlug') slug: string,
    @Body() dto: ExchangeCodeDto,
  ): Promise<TokenPairView> {
    return this.sso.exchange(slug, dto.code);
  }

  /**
   * The login cookie's SameSite and Secure. PUBLIC_URL, when set, says the scheme browsers use (an
   * https site behind a TLS-terminating balancer that is not in TRUSTED_PROXIES is still https);
   * without it, the request's own scheme does. SameSite=None only where needed (a SAML IdP posts
   * back cross-site) and allowed (browsers drop SameSite=None without Secure).
   */
  private cookieFlags(req: FastifyRequest, crossSitePost = false): CookieFlags {
    const secure = this.publicHttps ?? this.origin.targetUri(req).startsWith('https:');
    return { sameSite: secure && crossSitePost ? 'None' : 'Lax', secure };
  }
}

/** Tenant admin API: the tenant's SSO connections. */
@ApiTags('users')
@RequireScopes('users:admin')
@RateLimitClass('admin')
@ApiBadRequestResponse({ description: 'Invalid input', type: ProblemDto })
@Controller('sso/connections')
export class SsoConnectionsController {
  constructor(
    private readonly connections: SsoConnectionsService,
    private readonly context: TenantContext,
    private readonly db: Db,
  ) {}

  @ApiOperation({
    summary: 'Add an SSO connection (its secret stored encrypted, never returned)',
  })
  @Post()
  async create(@Body() dto: CreateSsoConnectionDto): Promise<SsoConnectionView> {
    return this.connections.create(
      this.context.tenantId,
      await this.slug(),
      dto,
      actorOf(this.context),
    );
  }

  @ApiOperation({ summary: 'List connections' })
  @Get()
  async list(): Promise<SsoConnectionList> {
    return { items: await this.connections.list(this.context.tenantId, await this.slug()) };
  }

  @ApiOperation({ summary: 'Get a connection' })
  @ApiNotFoundResponse({ description: 'No such connection', type: ProblemDto })
  @Get(':connectionId')
  async get(@Param('connectionId') id: string): Promise<SsoConnectionView> {
    return this.connections.get(this.context.tenantId, await this.slug(), id);
  }

  @ApiOperation({ summary: 'Change a connection (enable/disable, mapping, secret, ...)' })
  @ApiNotFoundResponse({ description: 'No such connection', type: ProblemDto })
  @Patch(':connectionId')
  async update(
    @Param('connectionId') id: string,
    @Body() dto: UpdateSsoConnectionDto,
  ): Promise<SsoConnectionView> {
    return this.connections.update(
      this.context.tenantId,
      await this.slug(),
      id,
      dto,
      actorOf(this.context),
    );
  }

  @ApiOperation({ summary: 'Remove a connection (its users stay; their identities go)' })
  @ApiNotFoundResponse({ description: 'No such connection', type: ProblemDto })
  @HttpCode(204)
  @Delete(':connectionId')
  remove(@Param('connectionId') id: string): Promise<void> {
    return this.connections.remove(this.context.tenantId, id);
  }

  private async slug(): Promise<string> {
    const [row] = await this.db.tenant(this.context.tenantId, (tx) =>
      tx.query<{ slug: string }>(`SELECT slug FROM tenants`),
    );
    return row.slug;
  }
}

interface CookieFlags {
  sameSite: 'None' | 'Lax';
  secure: boolean;
}

/** The login cookie, scoped to its connection's URLs. */
function loginCookie(
  slug: string,
  connectionId: string,
  value: string,
  maxAge: number,
  { sameSite, secure }: CookieFlags,
): string {
  return (
    `${COOKIE}=${value}; Path=/v1/auth/${slug}/${connectionId}; HttpOnly; SameSite=${sameSite}; ` +
    `Max-Age=${maxAge}${secure ? '; Secure' : ''}`
  );
}

/**
 * A finished browser login: its cookie cleared (with the attributes that set it, `flags`), the
 * browser sent on to `target`.
 */
async function endLogin(
  reply: FastifyReply,
  slug: string,
  connectionId: string,
  target: string,
  flags: CookieFlags,
): Promise<void> {
  await reply
    .header('set-cookie', loginCookie(slug, connectionId, '', 0, flags))
    .header('cache-control', 'no-store')
    .redirect(target, 302);
}

/** One cookie's value from a Cookie header (RFC 6265 pairs separated by `; `). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
