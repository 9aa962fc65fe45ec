import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class DomainVerificationDto {
  @ApiProperty({ enum: ['TXT'] }) type: 'TXT';
  @ApiProperty({ example: '_berth-challenge.shop.example.com' }) name: string;
  @ApiProperty({ description: 'the value the TXT record must hold' }) value: string;
}

export class DomainViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) appId: string;
  @ApiProperty({ example: 'shop.example.com' }) hostname: string;
  @ApiProperty({ description: "routed by the edge proxy and the workers' proxies" }) verified: boolean;
  @ApiProperty({ enum: ['pending', 'verified', 'unrouted'] }) status: string;
  @ApiPropertyOptional({ description: 'why a verified domain was unrouted' }) reason?: string;
  @ApiProperty({ type: DomainVerificationDto }) verification: DomainVerificationDto;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}
