/**
 * The provider simulator in a worker thread of its own, so that answering (and tokenizing, as
 * the real APIs do) does not run on the gateway's event loop: the gateway pays only for the call.
 */
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startProviderSimulator } from '../test/fixtures/provider-simulator';

export interface SimulatorHandle {
  url: string;
  close(): Promise<void>;
}

/** Starts the simulator (any key accepted, zero latency) in a worker; resolves with its URL. */
export function startSimulatorWorker(): Promise<SimulatorHandle> {
  return new Promise((resolve, reject) => {
    const w = new Worker(join(__dirname, 'simulator-worker.js'), { workerData: { role: 'simulator' } });
    w.once('error', reject);
    w.once('message', (m: { url: string }) => resolve({ url: m.url, close: async () => void (await w.terminate()) }));
  });
}

if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === 'simulator') {
  const port = parentPort;
  void startProviderSimulator({ apiKey: null }).then((sim) => port.postMessage({ url: sim.url }));
}
