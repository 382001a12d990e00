/**
 * Attention, Hands-On: the course library. Notebooks, exercises, solutions, tests and tools import
 * from here. Data flows one way: backend -> core -> data -> attention -> (models, later) -> train
 * -> viz -> course (the notebook self-check).
 */
export * from './backend/backend';
export * from './backend/wasm-fixes';
export * from './core/shapes';
export * from './core/fast-mode';
export * from './core/compare';
export * from './core/exercise';
export * from './core/random';
export * from './core/module';
export * from './core/init';
export * from './core/linear';
export * from './core/embedding';
export * from './core/recurrent-cell';
export * from './core/gru';
export * from './core/lstm';
export * from './core/recurrent';
export * from './data/scenes';
export * from './data/regression';
export * from './data/images';
export * from './attention/masks';
export * from './attention/softmax';
export * from './attention/pooling';
export * from './attention/scoring';
export * from './attention/multihead';
export * from './attention/positional';
export * from './attention/kernel-regression';
export * from './attention/local';
export * from './attention/selection';
export * from './attention/saliency';
export * from './attention/visual-search';
export * from './attention/cueing';
export * from './attention/score-stats';
export * from './attention/cnn';
export * from './train/fit-width';
export * from './train/interrupt';
export * from './viz/display';
export * from './viz/colormap';
export * from './viz/png';
export * from './viz/figure';
export * from './viz/figures';
export * from './viz/table';
export * from './viz/progress';
export * from './course/self-check';
