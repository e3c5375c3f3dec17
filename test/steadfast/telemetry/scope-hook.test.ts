/**
 * The scope hook telemetry uses to run a token fetch and its token-endpoint POST inside
 * its spans' context: a handler wraps the operation but can neither break it nor change
 * its result.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ScopeHook } from '../../../packages/steadfast/src/pipeline/event.js';

const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(w.message);
process.on('warning', onWarning);
afterEach(() => {
  warnings.length = 0;
});
afterAll(() => {
  process.off('warning', onWarning);
});

/** The operation under the hook: counts its runs, resolves or rejects as asked. */
function operation(result: 'ok' | 'fail') {
  const op = {
    runs: 0,
    fn: async () => {
      op.runs++;
      if (result === 'fail') throw new Error('operation failed');
      return 42;
    },
  };
  return op;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ScopeHook', () => {
  it('is the plain operation without a handler, and the handler sees the event and the result', async () => {
    const hook = new ScopeHook<string, number>();
    expect(hook.hasListeners).toBe(false);
    expect(await hook.run('e', operation('ok').fn)).toBe(42);

    const seen: unknown[] = [];
    const registration = hook.register(async (event, run) => {
      seen.push(event, await run());
    });
    expect(hook.hasListeners).toBe(true);
    const op = operation('ok');
    expect(await hook.run('fetch', op.fn)).toBe(42);
    expect(op.runs).toBe(1);
    expect(seen).toEqual(['fetch', 42]);

    expect(() => hook.register(async (_e, run) => run())).toThrow(/has a handler/);
    registration.dispose();
    expect(hook.hasListeners).toBe(false);
  });

  it("passes the operation's own failure through, once, without a warning", async () => {
    const hook = new ScopeHook<string, number>();
    hook.register((_e, run) => run());
    const op = operation('fail');
    await expect(hook.run('e', op.fn)).rejects.toThrow('operation failed');
    expect(op.runs).toBe(1);
    await settle();
    expect(warnings).toEqual([]);
  });

  it('runs the operation once, with its own result, whatever the handler does wrong', async () => {
    const handlers = [
      () => {
        throw new Error('before run');
      },
      async () => {}, // never calls run
      async (_e: string, run: () => Promise<number>) => {
        await run();
        await run(); // twice
        throw new Error('after run');
      },
      async (_e: string, run: () => Promise<number>) => {
        await run();
        return 'something else';
      },
    ];
    for (const handler of handlers) {
      const hook = new ScopeHook<string, number>();
      hook.register(handler as never);
      const op = operation('ok');
      expect(await hook.run('e', op.fn)).toBe(42);
      expect(op.runs).toBe(1);
    }
    await settle();
    expect(warnings.filter((w) => w.includes('scope handler threw'))).toHaveLength(2);
  });
});
