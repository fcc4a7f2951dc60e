/** CPU profiling of the main thread (where the server runs) with the inspector, summarised by package. */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}
export interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Starts profiling this process's main thread; the returned function stops it, writes the .cpuprofile to `file` and returns it. */
export async function startProfile(): Promise<(file: string) => Promise<Profile>> {
  const s = new Session();
  s.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => s.post(method, params, (e, r) => (e ? reject(e) : resolve(r as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return async (file) => {
    try {
      const { profile } = await post<{ profile: Profile }>('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      return profile;
    } finally {
      s.disconnect();
    }
  };
}

/** Where a frame's code lives: a package, one of our src/ folders, Node's internals, or V8's own buckets. */
function category(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native / V8 builtins)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const s = /\/dist\/(src\/[^/]+|bench|test)\//.exec(url);
  if (s) return s[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

/** Self time per category as a share of the busy (non-idle) samples, largest first. */
export function summarise(p: Profile, top = 15): { category: string; share: number }[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  let busy = 0;
  for (const id of p.samples ?? []) {
    const n = byId.get(id);
    if (!n) continue;
    const c = category(n.callFrame.url, n.callFrame.functionName);
    if (c === '(idle)') continue;
    busy++;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([c, n]) => ({ category: c, share: n / Math.max(1, busy) }))
    .sort((a, b) => b.share - a.share)
    .slice(0, top);
}

/** The share of all samples the main thread was busy (not idle). */
export function busyShare(p: Profile): number {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const all = p.samples ?? [];
  const idle = all.filter((id) => byId.get(id)?.callFrame.functionName === '(idle)').length;
  return all.length ? 1 - idle / all.length : 0;
}
