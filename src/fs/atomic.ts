/** The one atomic file write of the project (session folders, lock, token, server.json). */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/** Write a file so that a reader sees the old or the new content, never half: temp + fsync + rename. */
export function writeFileAtomic(path: string, data: string, mode = 0o644, durable = true): void {
  // Web Crypto, loaded at the first write: importing `node:crypto` would cost every command that reads a session.
  const random = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(3))).toString('hex');
  const temp = `${path}.${process.pid}.${random}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    const buffer = Buffer.from(data, 'utf8');
    let written = 0;
    while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written);
    // fsync blocks the event loop for as long as the disk takes (p99 60 ms here): only when it must.
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}
