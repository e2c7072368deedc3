/**
 * Classical deep-imbalanced-regression baselines on a continuous regression head (methods.md §7):
 * LDS weights, weighted losses, FDS feature calibration, the RankSim regulariser and Balanced MSE.
 * Pure float64 CPU math: each loss returns its value and exact gradients, for a trainer that reads
 * predictions and features back from the GPU and injects the gradients.
 *
 * @module
 */

export { binCenter, binCounts, binOf, type BinSpec, integerBins } from "./bins.ts";
export {
  convolveZeroPad,
  gaussianFilter1d,
  type KernelKind,
  type KernelSpec,
  kernelWindow,
  type LdsOptions,
  type LdsWeights,
  ldsWeights,
  RECOMMENDED_KERNEL,
  type Reweight,
} from "./lds.ts";
export {
  type FocalOptions,
  type PredLoss,
  weightedFocalL1,
  weightedFocalMse,
  weightedHuber,
  weightedL1,
  weightedMse,
} from "./losses.ts";
export { type FdsCalibration, type FdsJson, type FdsOptions, FdsState } from "./fds.ts";
export {
  blackboxRankGrad,
  cosineSimilarity,
  cosineSimilarityBackward,
  dedupRows,
  NORMALIZE_EPS,
  type Ranker,
  rankNormalised,
  ranksimLoss,
  type RanksimOptions,
  type RanksimResult,
  TRUE_RANKER,
} from "./ranksim.ts";
export {
  bmcLoss,
  bniLoss,
  bniPrior,
  DEFAULT_INIT_NOISE_SIGMA,
  DEFAULT_SIGMA_LR,
  fitGmm1d,
  gaiLoss,
  type Gmm,
  type GmmFitOptions,
  type HistogramPrior,
  type NoiseLoss,
  type NoiseSigmaOptions,
  noiseSigmaOptions,
  README_INIT_NOISE_SIGMA,
} from "./bmse.ts";
