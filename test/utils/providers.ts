import { startProviderSimulator, type ProviderSimulator, type SimulatorOptions } from '../fixtures/provider-simulator';

export const SIM_KEY = 'sk-sim-valid-key-000000';

/** Environment pointing every provider at the simulator. */
export function simulatorEnv(sim: ProviderSimulator): Record<string, string> {
  return {
    OPENAI_API_KEY: SIM_KEY,
    OPENAI_BASE_URL: `${sim.url}/v1`,
    ANTHROPIC_API_KEY: SIM_KEY,
    ANTHROPIC_BASE_URL: sim.url,
    DEEPSEEK_API_KEY: SIM_KEY,
    DEEPSEEK_BASE_URL: sim.url,
    OLLAMA_BASE_URL: sim.url,
    PROVIDER_MAX_RETRIES: '0',
  };
}

/** A simulator for gateway tests: any key is accepted, since Ollama sends a placeholder one (adapters' own tests check keys). */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<ProviderSimulator> {
  return startProviderSimulator({ apiKey: null, ...opts });
}
