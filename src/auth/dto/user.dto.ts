import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { ROLES, type Role } from '../roles';
import { MAX_PASSWORD_LENGTH } from '../password';

export const USER_STATUSES = ['active', 'disabled'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export class CreateUserDto {
  /** @example "ada@acme.example" */
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  email!: string;

  /** @example "Ada Lovelace" */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/^[^\p{Cc}]+$/u, { message: 'displayName must not contain control characters' })
  displayName?: string;

  @ApiProperty({ enum: ROLES, example: 'developer' })
  @IsIn(ROLES)
  role!: Role;

  /**
   * A break-glass local password (12 to 256 characters). Omit for users who sign in through SSO only.
   */
  @IsOptional()
  @IsString()
  @Length(12, MAX_PASSWORD_LENGTH, { message: 'password must be 12 to 256 characters' })
  password?: string;
}

export class UpdateUserDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/^[^\p{Cc}]+$/u, { message: 'displayName must not contain control characters' })
  displayName?: string;

  @ApiProperty({ enum: ROLES, required: false })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  /** `disabled` ends the user's sessions and refuses new logins. */
  @ApiProperty({ enum: USER_STATUSES, required: false })
  @IsOptional()
  @IsIn(USER_STATUSES)
  status?: UserStatus;

  @IsOptional()
  @IsString()
  @Length(12, MAX_PASSWORD_LENGTH, { message: 'password must be 12 to 256 characters' })
  password?: string;
}

export class UserView {
  id!: string;
  email!: string;
  displayName!: string | null;
  @ApiProperty({ enum: ROLES })
  role!: Role;
  @ApiProperty({ enum: USER_STATUSES })
  status!: UserStatus;
  /** Whether a local (break-glass) password is set. */
  localPassword!: boolean;
  lastLoginAt!: string | null;
  createdAt!: string;
  updatedAt!: string;
}

export class UserList {
  items!: UserView[];
}
