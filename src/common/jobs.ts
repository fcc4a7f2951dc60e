/** Something that runs in the background for the app's lifetime (a timer, a subscription, a drain at the end). */
export interface Job {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/**
 * Jobs started in the order given and stopped in reverse, so a job may rely on those started
 * before it until it has stopped. If one fails to start, `stop` stops only those that started.
 */
export class JobList {
  private readonly started: Job[] = [];

  async start(jobs: readonly Job[]): Promise<void> {
    for (const job of jobs) {
      await job.start();
      this.started.push(job);
    }
  }

  async stop(): Promise<void> {
    for (let job = this.started.pop(); job; job = this.started.pop()) await job.stop();
  }
}
