/**
 * Golden values for the building blocks of issue 14 (LayerNorm, FeedForward, cross-entropy), made
 * by `test/fixtures/make_torch_blocks.py`; same conventions as `torch-attention.json`.
 */
import raw from '../fixtures/torch-blocks.json';
import type { FixtureCase, FixtureValue } from './fixtures';

/** A case of `torch-blocks.json`; loss cases hold a plain number as output. */
export type BlocksCase = Omit<FixtureCase, 'outputs'> & { outputs: Record<string, FixtureValue> };

const cases = (raw as unknown as { cases: Record<string, BlocksCase> }).cases;

/** One case of `torch-blocks.json` by name; throws if the file lacks it. */
export function blocksFixture(name: string): BlocksCase {
  const c = cases[name];
  if (!c) throw new Error(`no case named ${name}; regenerate test/fixtures/torch-blocks.json`);
  return c;
}
