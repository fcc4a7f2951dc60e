import { validateCompletion } from '../completion.validation';
import type { CompletionInput } from '../completion.input';

const base = { messages: [{ role: 'user', content: 'hi' }], provider: 'openai', model: 'gpt-4o' } as CompletionInput;
const fieldOf = (patch: Partial<CompletionInput>) => {
  try {
    validateCompletion({ ...base, ...patch } as CompletionInput);
    return null;
  } catch (e) {
    return (e as { extensions: { field: string } }).extensions.field;
  }
};

describe('validateCompletion', () => {
  it('accepts a minimal request and normalises absent fields to null', () => {
    expect(validateCompletion(base)).toMatchObject({ userId: null, maxTokens: null, idempotencyKey: null });
  });

  it.each([
    [{ messages: [] }, 'messages'],
    [{ messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'user', content: '\ud800' }] }, 'messages[0].content'],
    [{ provider: 'mystery' }, 'provider'],
    [{ model: '' }, 'model'],
    [{ model: '\u000e' }, 'model'],
    [{ service: '\ud800' }, 'service'],
    [{ userId: 'x'.repeat(201) }, 'userId'],
    [{ maxTokens: 0 }, 'maxTokens'],
    [{ maxTokens: 1.5 }, 'maxTokens'],
    [{ temperature: 3 }, 'temperature'],
  ] as [Partial<CompletionInput>, string][])('refuses %j naming %s', (patch, field) => {
    expect(fieldOf(patch)).toBe(field);
  });
});
