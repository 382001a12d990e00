/**
 * Attention, Hands-On: the course library as learners see it (`import * as ah from
 * 'attention-hands-on'` in notebooks). Data flows one way: backend -> core -> data -> attention ->
 * (models, later) -> train -> experiments -> viz -> course.
 *
 * A plain list of re-exports, one line per file. Files that mix learner API and plumbing list
 * their learner names; plumbing (the wasm fixes, finiteness switches, interrupt internals, the
 * exercise-stub and grading helpers, `describeValue`, renderers' internals) is imported by path
 * from tools and tests only (`test/namespace.test.ts` checks both sides).
 */
export { initBackend, backendInfo, type BackendInfo, type BackendName } from './backend/backend';
export { checkShape, dimOf, formatShape, type DimSpec } from './core/shapes';
export * from './core/random';
export * from './core/module';
export * from './core/init';
export * from './core/linear';
export * from './core/layer-norm';
export * from './core/dropout';
export * from './core/feed-forward';
export * from './core/embedding';
export * from './core/recurrent-cell';
export * from './core/gru';
export * from './core/lstm';
export * from './core/recurrent';
export * from './data/scenes';
export * from './data/regression';
export * from './data/images';
export * from './data/vocab';
export * from './data/dates';
export * from './data/number-translation';
export * from './data/sequences';
export * from './data/batches';
export * from './data/mnist';
export * from './attention/masks';
export * from './attention/softmax';
export * from './attention/pooling';
export * from './attention/scoring';
export * from './attention/multihead';
export * from './attention/positional';
export * from './attention/position-shift';
export * from './attention/kernel-regression';
export * from './attention/local';
export * from './attention/selection';
export * from './attention/cnn';
export { recoverFromInterrupt } from './train/interrupt';
export * from './experiments/saliency';
export * from './experiments/visual-search';
export * from './experiments/cueing';
export * from './experiments/score-stats';
export * from './experiments/fit-width';
export * from './experiments/attention-cost';
export { display, inNotebook, DisplayHandle, type MimeBundle } from './viz/display';
export { viridis, redBlue, colorAt, type ColormapName, type Rgb } from './viz/colormap';
export * from './train/losses';
export * from './eval/metrics';
export * from './eval/bleu';
export * from './eval/rollout';
export * from './train/schedules';
export * from './train/optimizers';
export * from './train/fit';
export * from './train/safetensors';
export * from './train/checkpoint';
export * from './decode/step-decoder';
export * from './decode/greedy';
export * from './decode/translate';
export * from './decode/beam';
export { markovDecoder, type MarkovDecoderState } from './decode/table-decoder';
export * from './viz/figure';
export * from './viz/figures';
export * from './viz/diagram';
export * from './viz/table';
export { progress, Progress, type ProgressOptions } from './viz/progress';
export { byMode, isFastMode } from './course/fast-mode';
export { selfCheck, type SelfCheckReport, type SelfCheckTest } from './course/self-check';
export * from './course/claims';
export * from './models/encoder';
export * from './models/bahdanau';
export * from './models/baseline';
export * from './models/luong';
export * from './models/vit';
export * from './models/transformer-blocks';
export * from './models/transformer';
export * from './models/recipes';
export * from './experiments/seq2seq-runs';
