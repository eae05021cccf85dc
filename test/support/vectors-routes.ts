import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ACCESS_RULE, ENDPOINT_CLASS, type AccessRule } from '@app/gateway/access.decorators';
import type { EndpointClass } from '@app/gateway/rate-limit/rate-limit-policy';

/** One controller method that Nest routes, with the access rule the guard will read for it. */
export interface WalkedRoute {
  controller: string;
  handler: string;
  method: string;
  /** Controller and method paths joined, without the global prefix: `/collections/:collection`. */
  path: string;
  rule: AccessRule | undefined;
  /** The rate-limit endpoint class the route counts against. */
  endpointClass: EndpointClass | undefined;
}

function joinPaths(...parts: Array<string | string[] | undefined>): string {
  const segments = parts
    .flatMap((p) => (Array.isArray(p) ? p.slice(0, 1) : [p]))
    .filter((p): p is string => typeof p === 'string')
    .flatMap((p) => p.split('/'))
    .filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

/** Reads routes and their access rules the same way the guard does (handler first, then class). */
export function walkController(
  metatype: Type<unknown>,
  reflector = new Reflector(),
): WalkedRoute[] {
  const prototype = metatype.prototype as Record<string, unknown>;
  const base = Reflect.getMetadata(PATH_METADATA, metatype) as string | string[] | undefined;
  return new MetadataScanner().getAllMethodNames(prototype).flatMap((name) => {
    const handler = prototype[name] as (...args: unknown[]) => unknown;
    const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
    if (path === undefined) return [];
    const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
    return [
      {
        controller: metatype.name,
        handler: name,
        method: RequestMethod[method],
        path: joinPaths(base, path),
        rule: reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [handler, metatype]),
        endpointClass: reflector.getAllAndOverride<EndpointClass | undefined>(ENDPOINT_CLASS, [
          handler,
          metatype,
        ]),
      },
    ];
  });
}

/** Every route of every controller registered in the running application. */
export function walkApp(app: NestFastifyApplication): WalkedRoute[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const controllers = new Set<Type<unknown>>();
  for (const wrapper of discovery.getControllers()) {
    if (wrapper.metatype) controllers.add(wrapper.metatype as Type<unknown>);
  }
  const reflector = app.get(Reflector);
  return [...controllers].flatMap((c) => walkController(c, reflector));
}
