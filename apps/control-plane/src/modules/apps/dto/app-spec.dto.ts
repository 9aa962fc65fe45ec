import { ApiExtraModels, ApiProperty, ApiPropertyOptional, PartialType, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Equals, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Max, Min, ValidateNested } from 'class-validator';
import { CPUS_RANGE, DNS_LABEL, MEMORY_MB_RANGE, PORT_RANGE } from '../app-spec.rules';
import {
  IsDnsLabel,
  IsDockerReference,
  IsEnvMap,
  IsGitBranchName,
  IsGitUrl,
  IsHealthCheckPath,
  IsSafeRelativePath,
} from './spec-validators';

/** What a source with an unknown or missing `type` becomes: only `type` is checked (and fails). */
export class AppSourceDto {
  @IsIn(['git', 'image'], { message: '$property must be "git" or "image"' })
  type: string;
}

export class GitSourceDto {
  @ApiProperty({ enum: ['git'] })
  @Equals('git')
  type: 'git';

  @ApiProperty({ example: 'https://codeberg.org/acme/api.git', description: 'https, http, ssh, git or file URL, or scp-like user@host:path' })
  @IsString()
  @IsGitUrl()
  repoUrl: string;

  @ApiProperty({ example: 'main' })
  @IsString()
  @IsGitBranchName()
  branch: string;

  @ApiPropertyOptional({ example: 'Dockerfile', description: 'relative to the repository root; no ".."' })
  @IsOptional()
  @IsString()
  @IsSafeRelativePath()
  dockerfilePath?: string;
}

export class ImageSourceDto {
  @ApiProperty({ enum: ['image'] })
  @Equals('image')
  type: 'image';

  @ApiProperty({ example: 'ghcr.io/acme/api:1.4.2' })
  @IsString()
  @IsDockerReference()
  image: string;
}

export const SOURCE_SCHEMA = {
  oneOf: [{ $ref: getSchemaPath(GitSourceDto) }, { $ref: getSchemaPath(ImageSourceDto) }],
  discriminator: { propertyName: 'type', mapping: { git: getSchemaPath(GitSourceDto), image: getSchemaPath(ImageSourceDto) } },
};

/** POST /api/apps: an AppSpec, exactly. Unknown fields (here and inside `source`) are rejected. */
@ApiExtraModels(GitSourceDto, ImageSourceDto)
export class CreateAppDto {
  @ApiProperty({ example: 'my-api', pattern: DNS_LABEL.source, maxLength: 63, description: 'unique; a DNS label' })
  @IsDnsLabel()
  name: string;

  @ApiPropertyOptional({ example: 'de', pattern: DNS_LABEL.source, maxLength: 63, description: 'place only on workers of this zone' })
  @IsOptional()
  @IsDnsLabel()
  zone?: string;

  @ApiProperty(SOURCE_SCHEMA)
  @IsObject({ message: '$property must be an object: {type: "git", repoUrl, branch, dockerfilePath?} or {type: "image", image}' })
  @ValidateNested()
  @Type(() => AppSourceDto, {
    discriminator: {
      property: 'type',
      subTypes: [
        { value: GitSourceDto, name: 'git' },
        { value: ImageSourceDto, name: 'image' },
      ],
    },
    keepDiscriminatorProperty: true,
  })
  source: GitSourceDto | ImageSourceDto;

  @ApiProperty({ example: 8080, minimum: PORT_RANGE.min, maximum: PORT_RANGE.max, description: 'the port the app listens on inside its container' })
  @IsInt()
  @Min(PORT_RANGE.min)
  @Max(PORT_RANGE.max)
  port: number;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { LOG_LEVEL: 'info' } })
  @IsOptional()
  @IsEnvMap()
  env?: Record<string, string>;

  @ApiPropertyOptional({ example: '/healthz', description: 'HTTP path the health check GETs (default /)' })
  @IsOptional()
  @IsString()
  @IsHealthCheckPath()
  healthCheckPath?: string;

  @ApiPropertyOptional({ example: 256, minimum: MEMORY_MB_RANGE.min, maximum: MEMORY_MB_RANGE.max })
  @IsOptional()
  @IsInt()
  @Min(MEMORY_MB_RANGE.min)
  @Max(MEMORY_MB_RANGE.max)
  memoryMb?: number;

  @ApiPropertyOptional({ example: 0.5, minimum: CPUS_RANGE.min, maximum: CPUS_RANGE.max })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(CPUS_RANGE.min)
  @Max(CPUS_RANGE.max)
  cpus?: number;
}

/**
 * PATCH /api/apps/:id: any subset of the spec. `source` is replaced whole; `null` clears an optional
 * field (zone, env, healthCheckPath, memoryMb, cpus). `name` may be sent only unchanged.
 */
export class UpdateAppDto extends PartialType(CreateAppDto) {}
