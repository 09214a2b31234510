/** The replay's page cache and framing (src/store/frame-pages.ts); the log's use of them is in event-log.test.ts. */
import { describe, expect, it } from 'vitest';
import { FramePageCache, framesOf } from '../../src/store/frame-pages.js';

describe('FramePageCache', () => {
  it('keeps pages up to its byte bound, evicting the least recently used first', () => {
    const cache = new FramePageCache(300);
    const [a, b, c, d] = [0, 256, 512, 768].map(() => Buffer.alloc(100));
    cache.set(0, a as Buffer);
    cache.set(256, b as Buffer);
    cache.set(512, c as Buffer);
    expect(cache.get(0)).toBe(a); // now the most recently used
    cache.set(768, d as Buffer);
    expect(cache.get(256)).toBeUndefined();
    expect([cache.get(0), cache.get(512), cache.get(768)]).toEqual([a, c, d]);
  });

  it('never holds a page larger than the whole bound, and keeps the first copy of a page', () => {
    const cache = new FramePageCache(300);
    cache.set(0, Buffer.alloc(301));
    expect(cache.get(0)).toBeUndefined();
    const first = Buffer.alloc(10);
    cache.set(256, first);
    cache.set(256, Buffer.alloc(10));
    expect(cache.get(256)).toBe(first);
  });
});

describe('framesOf', () => {
  it('frames complete lines only, with their seq and type, bytes copied as they are', () => {
    const lines = Buffer.from('{"a":"é"}\n{"b":2}\n{"torn');
    const chunk = framesOf(lines, lines.length, 7, ['', '', '', '', '', '', 'agent', 'worker']);
    expect([chunk?.first, chunk?.last]).toEqual([7, 8]);
    expect(chunk?.data.toString('utf8')).toBe(
      'id: 7\nevent: agent\ndata: {"a":"é"}\n\nid: 8\nevent: worker\ndata: {"b":2}\n\n',
    );
    expect(framesOf(Buffer.from('{"torn'), 6, 1, [])).toBeNull();
  });
});
