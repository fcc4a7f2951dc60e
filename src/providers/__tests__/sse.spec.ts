import fc from 'fast-check';
import { parseSse, type SseEvent } from '../provider-http';

async function parse(chunks: (string | Buffer)[]): Promise<SseEvent[]> {
  async function* source() {
    for (const c of chunks) yield c;
  }
  const out: SseEvent[] = [];
  for await (const e of parseSse(source())) out.push(e);
  return out;
}

describe('parseSse', () => {
  it('reads event and data fields, joins data lines, skips comments and unknown fields, with any line ending', async () => {
    const text =
      ': keep-alive\r\nevent: message_start\r\ndata: {"a":1}\r\n\r\nid: 7\rretry: 10\rdata: line one\rdata:line two\r\rdata: [DONE]\n\n';
    expect(await parse([text])).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: null, data: 'line one\nline two' },
      { event: null, data: '[DONE]' },
    ]);
  });

  it('discards an event the stream ends before finishing, and dispatches nothing without data', async () => {
    expect(await parse(['event: ping\n\n', 'data: {"a":1}\n\n', 'data: {"cut'])).toEqual([{ event: null, data: '{"a":1}' }]);
  });

  it('gives the same events however the bytes are split (CRLF across chunks, multi-byte characters across chunks)', async () => {
    const text = 'event: e1\r\ndata: héllo wörld 日本 🎉\r\n\r\ndata: {"x":"ü"}\n\n: c\n\nevent: e3\rdata: z\r\r';
    const whole = await parse([text]);
    expect(whole).toHaveLength(3);
    const bytes = Buffer.from(text, 'utf8');
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), async (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const pieces = at.slice(1).flatMap((end, i) => [bytes.subarray(at[i], end), Buffer.alloc(0)]);
        expect(await parse(pieces)).toEqual(whole);
      }),
    );
  });
});
