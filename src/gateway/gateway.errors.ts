import { defineErrors } from '@app/common/errors/app-exception';

export enum GatewayErrorCode {
  IpNotAllowed = 'ip_not_allowed',
}

export const gatewayError = defineErrors<GatewayErrorCode>({
  [GatewayErrorCode.IpNotAllowed]: { status: 403, title: 'Client address not allowed' },
});
