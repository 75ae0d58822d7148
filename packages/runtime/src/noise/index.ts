/** torch-compatible CPU noise: MT19937 and torch.randn. */
export { Mt19937 } from './mt19937.ts';
export { TorchGenerator, torchRandn } from './torch-randn.ts';
