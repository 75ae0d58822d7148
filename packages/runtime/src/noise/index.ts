/** torch-compatible CPU noise: MT19937 and torch.randn, numpy's SeedSequence and torchsde's Brownian tree. */
export { Mt19937 } from './mt19937.ts';
export { TorchGenerator, torchRandn } from './torch-randn.ts';
export { SeedSequence, uint32Words } from './seed-sequence.ts';
export { BrownianTree, cpuSeededNormals, roundTo6Decimals, type SeededNormals } from './brownian-tree.ts';
