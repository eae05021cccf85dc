import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { TenantContext } from '@app/common/context/tenant-context';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { PlatformAdmin, RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';
import { CreateUserDto, UpdateUserDto, UserList, UserView } from './dto/user.dto';
import { UsersService, actorOf, type Actor } from './users.service';

/** Tenant admin API: the tenant's people and their roles. */
@ApiTags('users')
@RequireScopes('users:admin')
@RateLimitClass('admin')
@ApiBadRequestResponse({ description: 'Invalid input', type: ProblemDto })
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({ summary: 'Add a user (optionally with a break-glass local password)' })
  @ApiConflictResponse({ description: 'A user with this email exists', type: ProblemDto })
  @Post()
  create(@Body() dto: CreateUserDto): Promise<UserView> {
    return this.users.create(this.context.tenantId, dto, this.actor());
  }

  @ApiOperation({ summary: 'List users' })
  @Get()
  async list(): Promise<UserList> {
    return { items: await this.users.list(this.context.tenantId) };
  }

  @ApiOperation({ summary: 'Get a user' })
  @ApiNotFoundResponse({ description: 'No such user', type: ProblemDto })
  @Get(':userId')
  get(@Param('userId') userId: string): Promise<UserView> {
    return this.users.get(this.context.tenantId, userId);
  }

  @ApiOperation({
    summary:
      'Change role, status, name or password; a role with fewer permissions or disabling ends the sessions',
  })
  @ApiNotFoundResponse({ description: 'No such user', type: ProblemDto })
  @Patch(':userId')
  update(@Param('userId') userId: string, @Body() dto: UpdateUserDto): Promise<UserView> {
    return this.users.update(this.context.tenantId, userId, dto, this.actor());
  }

  @ApiOperation({ summary: 'Remove a user: its sessions end at once' })
  @ApiNotFoundResponse({ description: 'No such user', type: ProblemDto })
  @HttpCode(204)
  @Delete(':userId')
  remove(@Param('userId') userId: string): Promise<void> {
    return this.users.remove(this.context.tenantId, userId, this.actor());
  }

  private actor(): Actor {
    return actorOf(this.context);
  }
}

/** Platform admin API: a tenant's first users (its owner). */
@ApiTags('tenants')
@PlatformAdmin()
@Controller('admin/tenants/:tenantId/users')
export class PlatformUsersController {
  constructor(private readonly users: UsersService) {}

  @ApiOperation({ summary: 'Add a user to a tenant (any role, owner included)' })
  @Post()
  create(@Param('tenantId') tenantId: string, @Body() dto: CreateUserDto): Promise<UserView> {
    return this.users.create(tenantId, dto, { kind: 'platform' }, 'exists');
  }
}
