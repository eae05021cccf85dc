import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { TenantContext } from '@app/common/context/tenant-context';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';
import { CollectionsService } from './collections.service';
import { CollectionList, CollectionView, CreateCollectionDto } from './dto/collection.dto';
import {
  CountResult,
  CountVectorsDto,
  DeleteResult,
  DeleteVectorsDto,
  FetchResult,
  FetchVectorsDto,
  SearchDto,
  SearchResult,
  UpsertResult,
  UpsertVectorsDto,
} from './dto/vectors.dto';
import { VectorsService } from './vectors.service';

const notFound = ApiNotFoundResponse({ description: 'No such collection', type: ProblemDto });
const badRequest = ApiBadRequestResponse({
  description:
    'Invalid input: wrong dimension, NaN/Infinity, oversize batch, bad filter (problem+json with a stable code)',
  type: ProblemDto,
});

@ApiTags('collections')
@Controller('collections')
export class CollectionsController {
  constructor(
    private readonly collections: CollectionsService,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({
    summary: 'Create a collection',
    description:
      'Up to 2,000 dimensions the collection gets an HNSW index; 2,001-4,000 a half-precision HNSW index; above 4,000 it is exact-search only, which `index` in the response says.',
  })
  @ApiCreatedResponse({ type: CollectionView })
  @ApiConflictResponse({ description: 'Name taken', type: ProblemDto })
  @badRequest
  @RequireScopes('collections:admin')
  @RateLimitClass('admin')
  @Post()
  create(@Body() dto: CreateCollectionDto): Promise<CollectionView> {
    return this.collections.create(this.context.tenantId, dto, this.context.scope);
  }

  @ApiOperation({ summary: 'List collections' })
  @RequireScopes('vectors:read', 'vectors:write', 'collections:admin')
  @RateLimitClass('read')
  @Get()
  async list(): Promise<CollectionList> {
    return { items: await this.collections.list(this.context.tenantId, this.context.scope) };
  }

  @ApiOperation({ summary: 'Get a collection with its vector count' })
  @notFound
  @RequireScopes('vectors:read', 'vectors:write', 'collections:admin')
  @RateLimitClass('read')
  @Get(':collection')
  get(@Param('collection') name: string): Promise<CollectionView> {
    return this.collections.get(this.context.tenantId, name, this.context.scope);
  }

  @ApiOperation({ summary: 'Delete a collection and all its vectors' })
  @notFound
  @RequireScopes('collections:admin')
  @RateLimitClass('admin')
  @HttpCode(204)
  @Delete(':collection')
  delete(@Param('collection') name: string): Promise<void> {
    return this.collections.delete(this.context.tenantId, name, this.context.scope);
  }
}

@ApiTags('vectors')
@notFound
@badRequest
@Controller('collections/:collection')
export class VectorsController {
  constructor(
    private readonly vectors: VectorsService,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({ summary: 'Insert or replace up to 1,000 vectors (all or nothing)' })
  @RequireScopes('vectors:write')
  @RateLimitClass('write')
  @HttpCode(200)
  @Post('vectors')
  upsert(@Param('collection') name: string, @Body() dto: UpsertVectorsDto): Promise<UpsertResult> {
    return this.vectors.upsert(this.context.tenantId, name, dto.vectors, this.context.scope);
  }

  @ApiOperation({ summary: 'Get vectors by id' })
  @RequireScopes('vectors:read')
  @RateLimitClass('read')
  @HttpCode(200)
  @Post('vectors/fetch')
  fetch(@Param('collection') name: string, @Body() dto: FetchVectorsDto): Promise<FetchResult> {
    return this.vectors.fetch(this.context.tenantId, name, dto, this.context.scope);
  }

  @ApiOperation({ summary: 'Delete vectors by id or by metadata filter' })
  @RequireScopes('vectors:write')
  @RateLimitClass('write')
  @HttpCode(200)
  @Post('vectors/delete')
  delete(@Param('collection') name: string, @Body() dto: DeleteVectorsDto): Promise<DeleteResult> {
    return this.vectors.delete(this.context.tenantId, name, dto, this.context.scope);
  }

  @ApiOperation({ summary: 'Count vectors, optionally matching a filter' })
  @RequireScopes('vectors:read')
  @RateLimitClass('read')
  @HttpCode(200)
  @Post('vectors/count')
  count(@Param('collection') name: string, @Body() dto: CountVectorsDto): Promise<CountResult> {
    return this.vectors.count(this.context.tenantId, name, dto.filter, this.context.scope);
  }

  @ApiOperation({
    summary: 'Top-k similarity search, exact or approximate, with an optional metadata filter',
  })
  @RequireScopes('vectors:read')
  @RateLimitClass('search')
  @HttpCode(200)
  @Post('search')
  search(@Param('collection') name: string, @Body() dto: SearchDto): Promise<SearchResult> {
    return this.vectors.search(this.context.tenantId, name, dto, this.context.scope);
  }
}
