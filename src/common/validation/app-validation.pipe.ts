import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { CommonErrorCode, commonError } from '../errors/common-errors';

const FAST_CHECKS = new WeakMap<object, (value: unknown) => boolean>();

/**
 * Gives a DTO class a hand-written check for its hottest route: `check` returns true only for a plain
 * body the class-validator rules would certainly accept (and that needs no conversion). Anything
 * else, valid or not, goes the normal way, so error answers never depend on it. Its spec must prove
 * the "certainly" part against the real pipe.
 */
export function fastCheck(dto: object, check: (value: unknown) => boolean): void {
  FAST_CHECKS.set(dto, check);
}

/** The check registered for a DTO class, if any. */
export function fastCheckOf(dto: object): ((value: unknown) => boolean) | undefined {
  return FAST_CHECKS.get(dto);
}

/** The global pipe: class-validator with whitelist, forbidNonWhitelisted and transform. */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => {
        const list = validationErrors(errors);
        return commonError(
          CommonErrorCode.ValidationFailed,
          list.map((e) => `${e.path}: ${e.message}`).join('; '),
          { errors: list },
        );
      },
    });
  }

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const check = metadata.metatype && FAST_CHECKS.get(metadata.metatype);
    if (metadata.type === 'body' && check?.(value)) {
      // What plainToInstance would make of such a body: the same properties, the class's prototype.
      const proto = (metadata.metatype as { prototype: object }).prototype;
      return Promise.resolve(Object.setPrototypeOf(value as object, proto));
    }
    return super.transform(value, metadata);
  }
}

function validationErrors(
  errors: ValidationError[],
  parent = '',
): Array<{ path: string; message: string }> {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ path, message }));
    return [...own, ...validationErrors(e.children ?? [], path)];
  });
}
