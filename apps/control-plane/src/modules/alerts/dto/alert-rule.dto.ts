import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, Equals, IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsUrl, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ALERT_KINDS } from '../alert-evaluator';
import { MAX_CHANNELS, SUSTAIN_MINUTES_RANGE } from '../alert-rule.rules';

const HTTP_URL = { protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_host: true };
const HTTP_URL_MESSAGE = { message: '$property must be an http:// or https:// URL' };

/** What a channel with an unknown or missing `type` becomes: only `type` is checked (and fails). */
export class AlertChannelDto {
  @IsIn(['webhook', 'slack', 'email'], { message: '$property must be "webhook", "slack" or "email"' })
  type: string;
}

export class WebhookChannelDto {
  @ApiProperty({ enum: ['webhook'] }) @Equals('webhook') type: 'webhook';
  @ApiProperty({ example: 'https://hooks.example.com/berth', description: 'receives a JSON body signed in X-Berth-Signature (HMAC-SHA256)' })
  @IsUrl(HTTP_URL, HTTP_URL_MESSAGE)
  url: string;
}

export class SlackChannelDto {
  @ApiProperty({ enum: ['slack'] }) @Equals('slack') type: 'slack';
  @ApiProperty({ example: 'https://hooks.slack.com/services/T000/B000/XXXX', description: 'a Slack-compatible incoming webhook' })
  @IsUrl(HTTP_URL, HTTP_URL_MESSAGE)
  url: string;
}

export class EmailChannelDto {
  @ApiProperty({ enum: ['email'] }) @Equals('email') type: 'email';
  @ApiProperty({ example: 'oncall@example.com' })
  @IsEmail({}, { message: '$property must be an email address' })
  to: string;
}

const channelsType = () =>
  Type(() => AlertChannelDto, {
    discriminator: {
      property: 'type',
      subTypes: [
        { value: WebhookChannelDto, name: 'webhook' },
        { value: SlackChannelDto, name: 'slack' },
        { value: EmailChannelDto, name: 'email' },
      ],
    },
    keepDiscriminatorProperty: true,
  });

const CHANNELS_SCHEMA = {
  type: 'array' as const,
  items: { oneOf: [{ $ref: getSchemaPath(WebhookChannelDto) }, { $ref: getSchemaPath(SlackChannelDto) }, { $ref: getSchemaPath(EmailChannelDto) }] },
};

/** The channels field, the same on create and on update: an optional list of webhook, slack or email channels. */
function ChannelsField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional(CHANNELS_SCHEMA),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(MAX_CHANNELS),
    IsObject({ each: true, message: '$property must be objects: {type: "webhook"|"slack", url} or {type: "email", to}' }),
    ValidateNested({ each: true }),
    channelsType(),
  );
}

/** POST /api/apps/:id/alert-rules. What depends on the kind (threshold ranges, which fields apply) is checked by the rule itself. */
@ApiExtraModels(WebhookChannelDto, SlackChannelDto, EmailChannelDto)
export class CreateAlertRuleDto {
  @ApiProperty({ enum: ALERT_KINDS })
  @IsIn(ALERT_KINDS, { message: `$property must be one of ${ALERT_KINDS.join(', ')}` })
  kind: string;

  @ApiPropertyOptional({ example: 80, description: 'cpu, memory: percent of the app limit (1-100); restarts: exits within the window (1-1000)' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  threshold?: number;

  @ApiPropertyOptional({ example: 5, minimum: SUSTAIN_MINUTES_RANGE.min, maximum: SUSTAIN_MINUTES_RANGE.max, description: 'threshold kinds: the debounce window of both edges (default 5)' })
  @IsOptional()
  @IsInt()
  @Min(SUSTAIN_MINUTES_RANGE.min)
  @Max(SUSTAIN_MINUTES_RANGE.max, { message: '$property must not be greater than $constraint1 (a day)' })
  sustainMinutes?: number;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ChannelsField()
  channels?: (WebhookChannelDto | SlackChannelDto | EmailChannelDto)[];
}

/** PATCH /api/alert-rules/:id: any subset; null clears threshold or sustainMinutes (when changing to an event kind). */
export class UpdateAlertRuleDto {
  @ApiPropertyOptional({ enum: ALERT_KINDS })
  @IsOptional()
  @IsIn(ALERT_KINDS, { message: `$property must be one of ${ALERT_KINDS.join(', ')}` })
  kind?: string;

  @ApiPropertyOptional({ example: 90, nullable: true })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  threshold?: number | null;

  @ApiPropertyOptional({ example: 10, nullable: true, minimum: SUSTAIN_MINUTES_RANGE.min, maximum: SUSTAIN_MINUTES_RANGE.max })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsInt()
  @Min(SUSTAIN_MINUTES_RANGE.min)
  @Max(SUSTAIN_MINUTES_RANGE.max, { message: '$property must not be greater than $constraint1 (a day)' })
  sustainMinutes?: number | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ChannelsField()
  channels?: (WebhookChannelDto | SlackChannelDto | EmailChannelDto)[];
}
