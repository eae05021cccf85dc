import { Body, Controller, Get, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { LimitPerAddress, Public } from '@app/gateway/access.decorators';
import { RequestOrigin } from '@app/gateway/request-origin';
import { LocalLoginDto, RefreshDto, TokenPairView } from './dto/session.dto';
import { SessionsService, type Attempt } from './sessions.service';
import { SigningKeysService } from './signing-keys.service';

/** Sessions for people (the admin console): login, token refresh, logout, and the JWKS. */
@ApiTags('auth')
@Public()
@Controller('auth')
export class AuthController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly keys: SigningKeysService,
    private readonly origin: RequestOrigin,
  ) {}

  @ApiOperation({
    summary:
      'Break-glass local login with email and password (a tenant can turn it off: settings auth.localLogin)',
  })
  @ApiUnauthorizedResponse({ description: 'Wrong email or password', type: ProblemDto })
  @LimitPerAddress('AUTH_LOGIN_PER_MINUTE')
  @HttpCode(200)
  @Post(':tenantSlug/login')
  login(
    @Param('tenantSlug') slug: string,
    @Body() dto: LocalLoginDto,
    @Req() req: FastifyRequest,
    @Headers('user-agent') userAgent?: string,
  ): Promise<TokenPairView> {
    return this.sessions.loginLocal(slug, dto.email, dto.password, this.attempt(req, userAgent));
  }

  @ApiOperation({ summary: 'Trade a refresh token (single use) for new tokens' })
  @ApiUnauthorizedResponse({
    description: 'Unknown, expired or revoked token; a reused one revokes the whole login',
    type: ProblemDto,
  })
  @LimitPerAddress('AUTH_REFRESH_PER_MINUTE')
  @HttpCode(200)
  @Post(':tenantSlug/token/refresh')
  refresh(
    @Param('tenantSlug') slug: string,
    @Body() dto: RefreshDto,
    @Req() req: FastifyRequest,
  ): Promise<TokenPairView> {
    return this.sessions.refresh(slug, dto.refreshToken, this.attempt(req));
  }

  @ApiOperation({ summary: "Log out: ends the login's refresh and access tokens" })
  @LimitPerAddress('AUTH_REFRESH_PER_MINUTE')
  @HttpCode(204)
  @Post(':tenantSlug/logout')
  async logout(
    @Param('tenantSlug') slug: string,
    @Body() dto: RefreshDto,
    @Req() req: FastifyRequest,
  ): Promise<void> {
    await this.sessions.logout(slug, dto.refreshToken, this.attempt(req));
  }

  @ApiOperation({ summary: 'The public keys that verify access tokens (RFC 7517)' })
  @ApiOkResponse({ description: 'A JWK Set' })
  @ApiServiceUnavailableResponse({
    description: 'No encryption key configured (code sessions_unavailable)',
    type: ProblemDto,
  })
  @Get('jwks')
  jwks(): Promise<JSONWebKeySet> {
    return this.keys.jwks();
  }

  private attempt(req: FastifyRequest, userAgent?: string): Attempt {
    return { ip: this.origin.clientAddress(req), userAgent: userAgent?.slice(0, 256) };
  }
}
