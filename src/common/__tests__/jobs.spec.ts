import { type Job, JobList } from '../jobs';

/** A job that writes what happens to it into `log`; `failStart` makes its start reject. */
function recorder(log: string[], name: string, failStart = false): Job {
  return {
    start: async () => {
      if (failStart) throw new Error(`${name} could not start`);
      log.push(`start ${name}`);
    },
    stop: async () => {
      await new Promise((r) => setImmediate(r));
      log.push(`stop ${name}`);
    },
  };
}

describe('JobList', () => {
  it('starts jobs in order and stops them in reverse, across several start calls', async () => {
    const log: string[] = [];
    const jobs = new JobList();
    await jobs.start([recorder(log, 'a'), recorder(log, 'b')]);
    await jobs.start([recorder(log, 'c')]);
    await jobs.stop();
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('after a failed start, stops only the jobs that started, and only once', async () => {
    const log: string[] = [];
    const jobs = new JobList();
    await expect(jobs.start([recorder(log, 'a'), recorder(log, 'b', true), recorder(log, 'c')])).rejects.toThrow('b could not start');
    await jobs.stop();
    await jobs.stop();
    expect(log).toEqual(['start a', 'stop a']);
  });
});
