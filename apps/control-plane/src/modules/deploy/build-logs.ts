import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { BuildLogLine, JobLogMsg } from '@berth/contracts';
import { isUuid, LOG_LINE_MAX_BYTES, sanitizeLogLine } from '@berth/core';
import { int, isoDate, list, message, object, text, uuid } from '../../common/checks';
import { CLOCK, type Clock } from '../../common/clock';
import { AgentMessages } from '../workers/agent-messages.registry';
import { DeployService } from './deploy.service';
import { DeploymentsRepository } from './deployments.repository';
import { jobNotHeld } from './job-results';

/** Seed section 3's cap, applied to build output too: each line at most 8 KiB. */
export const BUILD_LOG_LINE_MAX_BYTES = LOG_LINE_MAX_BYTES;
/** Most log lines one `job:log` message may carry. */
export const MAX_LOG_LINES_PER_MESSAGE = 10_000;

export const parseJobLog = message<JobLogMsg>(
  'job:log',
  object({
    jobId: uuid,
    lines: list(object({ seq: int(0, Number.MAX_SAFE_INTEGER), line: text(Infinity, true), at: isoDate }), MAX_LOG_LINES_PER_MESSAGE),
  }),
);

/**
 * Build output of deployments: telemetry, not events. Each line is stored once per (deployment, seq)
 * however often the agent resends it.
 */
@Injectable()
export class BuildLogs implements OnModuleInit {
  constructor(
    private readonly repo: DeploymentsRepository,
    private readonly deployments: DeployService,
    private readonly messages: AgentMessages,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.messages.handle('job:log', parseJobLog, (w, msg) => this.recordBuildLog(w.workerId, msg));
  }

  async recordBuildLog(workerId: string, msg: JobLogMsg): Promise<void> {
    const job = isUuid(msg.jobId) ? await this.repo.findJob(msg.jobId) : null;
    if (!job || job.workerId !== workerId) throw jobNotHeld(msg.jobId);
    const now = this.clock.now();
    const lines: BuildLogLine[] = (Array.isArray(msg.lines) ? msg.lines : [])
      .filter((l) => Number.isInteger(l.seq) && l.seq >= 0 && l.seq <= 2_147_483_647 && typeof l.line === 'string')
      .map((l) => ({ seq: l.seq, line: capLogLine(l.line), at: validIsoOr(l.at, now) }));
    await this.repo.insertBuildLogLines(job.deploymentId, lines);
  }

  async read(deploymentId: string, after = -1, limit = 500): Promise<{ lines: BuildLogLine[]; next: number | null }> {
    await this.deployments.get(deploymentId);
    const lines = await this.repo.readBuildLogLines(deploymentId, after, limit);
    return { lines, next: lines.length > 0 ? lines[lines.length - 1].seq : after >= 0 ? after : null };
  }
}

/** Seed 3's rules, the same module the agent applies: no escape sequences, no NUL, valid UTF-8, at most 8 KiB. */
export function capLogLine(line: string): string {
  return sanitizeLogLine(line, BUILD_LOG_LINE_MAX_BYTES).text;
}

function validIsoOr(at: unknown, fallback: Date): string {
  const d = typeof at === 'string' ? new Date(at) : null;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString() : fallback.toISOString();
}
