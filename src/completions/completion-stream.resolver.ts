import { Arg, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { CompletionInput } from './completion.input';
import { CompletionChunkView } from './completion.view';
import { toResultView } from './completion.resolver';
import { validateCompletion } from './completion.validation';

/** What the stream's source yields: a chunk to send, or the error that ends it (thrown by the field resolver, so it is formatted like any other). */
type ChunkPayload = { chunk: CompletionChunkView } | { error: unknown };

/**
 * A push-driven async iterator: values pushed are read in order; `return()` (graphql-ws calls
 * it when the client unsubscribes or the socket closes) runs `onReturn` at once, even while a
 * read is pending, which an async generator could not do (its `return()` waits for the
 * pending step).
 */
class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private closed = false;

  constructor(private readonly onReturn: () => void) {}

  push(value: T): void {
    if (this.closed) return;
    const waiter = this.waiting;
    this.waiting = null;
    if (waiter) waiter({ value, done: false });
    else this.queue.push(value);
  }

  /** Ends the stream once what was pushed has been read. */
  close(): void {
    this.closed = true;
    const waiter = this.waiting;
    this.waiting = null;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.closed) this.onReturn();
    this.queue.length = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

const chunk = (requestId: string, delta: string | null, result: CompletionChunkView['result'] = null): ChunkPayload => ({
  chunk: Object.assign(new CompletionChunkView(), { requestId, delta, done: result !== null, result }),
});

/**
 * Runs `complete` with a stream sink (the same steps and rules) and turns its events into
 * chunks: one per delta of text, then the last with `done` and the whole result. Unsubscribing
 * aborts the provider call at once; the request is then charged for what was generated.
 */
function streamCompletion({
  args,
  context,
}: SubscribeResolverData<unknown, { input: CompletionInput }, GraphQLContext>): AsyncIterable<ChunkPayload> {
  const abort = new AbortController();
  const channel = new Channel<ChunkPayload>(() => abort.abort());
  let request;
  try {
    request = validateCompletion(args.input);
  } catch (error) {
    channel.push({ error });
    channel.close();
    return channel;
  }
  context.services.completions
    .complete(context.auth, request, {
      signal: abort.signal,
      event: (event, served) => {
        if (event.type === 'delta' && event.text) channel.push(chunk(served.requestId, event.text));
      },
    })
    .then(
      (out) => channel.push(chunk(out.requestId, null, toResultView(out))),
      (error: unknown) => channel.push({ error }),
    )
    .finally(() => channel.close());
  return channel;
}

@Resolver(() => CompletionChunkView)
export class CompletionStreamResolver {
  @Subscription(() => CompletionChunkView, {
    description:
      'The same completion as Mutation.complete, under the same budgets, streamed as it is generated. Refusals end the stream with an error carrying the same extensions.code; a client that unsubscribes stops the provider call and is charged for what was generated.',
    subscribe: streamCompletion,
  })
  completeStream(@Root() payload: ChunkPayload, @Arg('input', () => CompletionInput) _input: CompletionInput): CompletionChunkView {
    if ('error' in payload) throw payload.error;
    return payload.chunk;
  }
}
