import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { PlatformAdmin } from '@app/gateway/access.decorators';
import { CreatePlanDto, PlanList, PlanView, UpdatePlanDto } from './dto/plan.dto';
import { PlansService } from './plans.service';

/** Platform admin API: plans, the named sets of limits tenants are on. */
@ApiTags('platform: plans')
@PlatformAdmin()
@ApiBadRequestResponse({
  description: 'Invalid input (problem+json, code validation_failed)',
  type: ProblemDto,
})
@Controller('admin/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @ApiOperation({ summary: 'Create a plan (every limit given; null = unlimited)' })
  @ApiConflictResponse({ description: 'A plan with this name exists', type: ProblemDto })
  @Post()
  create(@Body() dto: CreatePlanDto): Promise<PlanView> {
    return this.plans.create(dto);
  }

  @ApiOperation({ summary: 'List plans' })
  @Get()
  async list(): Promise<PlanList> {
    return { items: await this.plans.list() };
  }

  @ApiOperation({ summary: 'Get a plan' })
  @ApiNotFoundResponse({ description: 'No such plan', type: ProblemDto })
  @Get(':name')
  get(@Param('name') name: string): Promise<PlanView> {
    return this.plans.get(name);
  }

  @ApiOperation({
    summary: 'Change the description or some limits; applies to the next write of its tenants',
  })
  @ApiNotFoundResponse({ description: 'No such plan', type: ProblemDto })
  @Patch(':name')
  update(@Param('name') name: string, @Body() dto: UpdatePlanDto): Promise<PlanView> {
    return this.plans.update(name, dto);
  }

  @ApiOperation({ summary: 'Delete a plan no tenant is on' })
  @ApiNotFoundResponse({ description: 'No such plan', type: ProblemDto })
  @ApiConflictResponse({ description: 'Tenants are on this plan', type: ProblemDto })
  @HttpCode(204)
  @Delete(':name')
  delete(@Param('name') name: string): Promise<void> {
    return this.plans.delete(name);
  }
}
