import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { AccessScope, Principal, RequestStore, UNRESTRICTED } from './principal';

export class MissingTenantContextError extends Error {
  constructor() {
    super(
      'No tenant in the current context: this code path must run inside a request or a tenant job',
    );
    this.name = 'MissingTenantContextError';
  }
}

/**
 * The current request's tenant and caller, held in AsyncLocalStorage (nestjs-cls). A singleton:
 * injecting it costs nothing per request. Reading the tenant outside a tenant context throws, so a
 * code path that forgot its tenant fails loudly instead of running unscoped.
 */
@Injectable()
export class TenantContext {
  constructor(private readonly cls: ClsService<RequestStore>) {}

  get tenantId(): string {
    const tenantId = this.store()?.tenantId;
    if (!tenantId) throw new MissingTenantContextError();
    return tenantId;
  }

  get tenantIdOrUndefined(): string | undefined {
    return this.store()?.tenantId;
  }

  get requestId(): string | undefined {
    return this.store()?.requestId;
  }

  get principal(): Principal | undefined {
    return this.store()?.principal;
  }

  /** What the caller may reach inside the tenant (a scoped key's restrictions). */
  get scope(): AccessScope {
    const p = this.store()?.principal;
    return p?.kind === 'api_key' ? p.scope : UNRESTRICTED;
  }

  /** Called by the authentication guard, once per request. */
  setPrincipal(principal: Principal): void {
    const store = this.store();
    if (!store) throw new Error('setPrincipal called outside a request context');
    store.principal = principal;
    store.tenantId = principal.kind === 'platform_admin' ? undefined : principal.tenantId;
  }

  /** Runs fn in a fresh context: used by the HTTP hook and by the job runner. */
  run<T>(store: RequestStore, fn: () => T): T {
    return this.cls.runWith(store, fn);
  }

  /** Runs fn as a background job of one tenant, so job code reads like request code. */
  runAsTenantJob<T>(tenantId: string, job: string, fn: () => T): T {
    return this.cls.runWith(
      { requestId: `job:${job}`, tenantId, principal: { kind: 'job', tenantId, job } },
      fn,
    );
  }

  private store(): RequestStore | undefined {
    return this.cls.isActive() ? this.cls.get() : undefined;
  }
}
