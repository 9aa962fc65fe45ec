/**
 * When a test fails, print the last lines of every control plane and agent the test file started: a
 * failure in CI is then explained by what the processes said, not only by what the test saw.
 */
import { afterEach } from 'vitest';

afterEach(async ({ task }) => {
  if (task.result?.state !== 'fail') return;
  // Loaded only now: test files that start no process never load the process helpers.
  const { startedProcesses } = await import('./processes');
  for (const { name, process } of startedProcesses) {
    const { child } = process;
    const state = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : 'running';
    let tail = '';
    try {
      tail = process.log().slice(-6000);
    } catch {
      tail = '(log already removed)';
    }
    console.error(`--- ${name} pid ${child.pid}, ${state}; the end of its log:\n${tail}\n--- end of ${name}`);
  }
});
