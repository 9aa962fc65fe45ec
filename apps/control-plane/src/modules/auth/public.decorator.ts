import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'berth:public';
/** Routes that need no token: health, metrics, webhooks (which verify their own signatures). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
