/**
 * Decoding what the Docker Engine streams back: the JSON-lines progress of build and pull, and the
 * multiplexed stdout/stderr frames of a non-TTY container's logs. Pure functions over bytes.
 */

export interface EngineProgress {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  /** The built image's id (classic builder), or a BuildKit progress message, base64 (id moby.buildkit.trace). */
  aux?: { ID?: string } | string;
}

/**
 * Reads a JSON-lines progress stream to its end, handing each object to onEvent. Resolves with the
 * first error the Engine reported inside the stream (a failed RUN step, a missing base image), or
 * undefined when it finished cleanly; rejects only when the stream itself breaks.
 */
export function followEngineStream(stream: NodeJS.ReadableStream, onEvent: (event: EngineProgress) => void): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let failure: string | undefined;
    let done = false;
    const handleLine = (line: string) => {
      if (!line.trim()) return;
      let event: EngineProgress;
      try {
        event = JSON.parse(line) as EngineProgress;
      } catch {
        event = { stream: line };
      }
      if (event.error !== undefined || event.errorDetail?.message !== undefined) {
        failure ??= event.errorDetail?.message ?? event.error;
      }
      onEvent(event);
    };
    const finish = () => {
      if (done) return;
      done = true;
      handleLine(buffered);
      buffered = '';
      resolve(failure);
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) handleLine(line);
    });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', (err: Error) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

/** Splits a text chunk into display lines: no trailing newline, no carriage returns, no blanks. */
export function textLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r/g, '').trimEnd())
    .filter((l) => l.length > 0);
}

/**
 * Decodes `docker logs` output of a container without a TTY: frames of
 * [stream(1) 0 0 0 size(4, big-endian)] + payload. Anything that does not look like a frame is
 * taken as plain text (a TTY container's raw output).
 */
export function demuxLogs(buf: Buffer): string[] {
  const chunks: string[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const kind = buf[offset];
    const framed = (kind === 0 || kind === 1 || kind === 2) && buf[offset + 1] === 0 && buf[offset + 2] === 0 && buf[offset + 3] === 0;
    if (!framed) break;
    const size = buf.readUInt32BE(offset + 4);
    chunks.push(buf.subarray(offset + 8, offset + 8 + size).toString('utf8'));
    offset += 8 + size;
  }
  if (offset < buf.length) chunks.push(buf.subarray(offset).toString('utf8'));
  return textLines(chunks.join(''));
}
