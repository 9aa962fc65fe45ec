import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';

/** POST /api/apps/:id/domains. The hostname's own rules are checked by validateHostname (one place). */
export class AddDomainDto {
  @ApiProperty({ example: 'shop.example.com', description: 'a hostname (IDN allowed; stored as punycode), no wildcard, no trailing dot' })
  @IsString()
  hostname: string;
}
