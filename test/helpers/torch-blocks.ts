/**
 * Golden values for the building blocks of issue 14 (LayerNorm, FeedForward, cross-entropy), made
 * by `test/fixtures/make_torch_blocks.py`; same conventions as `torch-attention.json`.
 */
import raw from '../fixtures/torch-blocks.json';
import type { FixtureCase } from './fixtures';

/** A loss case: the output is the scalar loss, a plain number. */
export type LossCase = Omit<FixtureCase, 'outputs'> & { outputs: { loss: number } };

const cases = (raw as unknown as { cases: Record<string, unknown> }).cases;

function lookup(name: string): unknown {
  const c = cases[name];
  if (!c) throw new Error(`no case named ${name}; regenerate test/fixtures/torch-blocks.json`);
  return c;
}

/** A layer case of `torch-blocks.json` (tensor outputs) by name; throws if the file lacks it. */
export function blocksFixture(name: string): FixtureCase {
  return lookup(name) as FixtureCase;
}

/** A loss case of `torch-blocks.json` (`outputs.loss` a number) by name. */
export function lossFixture(name: string): LossCase {
  const c = lookup(name) as LossCase;
  if (typeof c.outputs?.loss !== 'number') throw new Error(`case ${name} is not a loss case`);
  return c;
}
